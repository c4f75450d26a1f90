// The outbound filter as a pure function: parsed URLs and given address lists, no DNS.
#include "client/outbound_filter.h"

#include <gtest/gtest.h>

#include "client/outbound_fetch.h"

namespace glint::client {
namespace {

IpAddress Ip(const std::string& s) { return *ParseIpLiteral(s); }

Status Verdict(const std::string& url, const std::vector<std::string>& addresses,
               const OutboundFilterOptions& o = {}) {
  auto u = ParseOutboundUrl(url);
  if (!u.ok()) return u.status();
  GLINT_RETURN_IF_ERROR(CheckUrl(*u, o));
  std::vector<IpAddress> resolved;
  if (u->host_is_ip) {
    resolved.push_back(u->ip);
  } else {
    for (const auto& a : addresses) resolved.push_back(Ip(a));
  }
  return ChooseAddress(*u, resolved, o).status();
}

TEST(OutboundFilter, ParsesOrdinaryUrls) {
  auto u = ParseOutboundUrl("HTTPS://Images.Example.COM./a/b.qcow2?x=1#frag");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "images.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_FALSE(u->explicit_port);
  EXPECT_EQ(u->target, "/a/b.qcow2?x=1");
  auto v6 = ParseOutboundUrl("http://[2001:4860::8888]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->host_is_ip);
  EXPECT_EQ(v6->port, 8080);
  EXPECT_EQ(v6->target, "/");
  EXPECT_EQ(v6->Origin(), "http://[2001:4860::8888]:8080");
}

TEST(OutboundFilter, RefusesAmbiguousUrls) {
  for (const char* bad : {"ftp://example.com/x", "file:///etc/passwd", "http://", "http:///x", "http://a b/",
                          "http://example.com\\@127.0.0.1/", "http://user@example.com/", "http://x:0/",
                          "http://x:65536/", "http://x:/", "http://[::1%25eth0]/", "http://[::1/",
                          "http://ex%41mple.com/", "http://a..b/",
                          "http://266t6..:6/" /* empty last label (found by fuzzing) */, "example.com/x", "http://999.1.1.1/"}) {
    EXPECT_FALSE(ParseOutboundUrl(bad).ok()) << bad;
  }
}

TEST(OutboundFilter, NumericSpellingsOfIpv4AreRefusedAndNamed) {
  for (const char* url : {"http://2130706433/", "http://0177.0.0.1/", "http://0x7f000001/", "http://0x7f.1/",
                          "http://127.1/", "http://127.0.0.01/", "http://017700000001/"}) {
    auto u = ParseOutboundUrl(url);
    ASSERT_FALSE(u.ok()) << url;
    EXPECT_NE(u.status().message().find("127.0.0.1"), std::string::npos) << u.status().message();
  }
  // A name that only looks hexadecimal is a name.
  EXPECT_TRUE(ParseOutboundUrl("http://deadbeef/").ok());
}

TEST(OutboundFilter, NonGlobalAddressesRefusedByDefault) {
  for (const char* url : {"http://127.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                          "http://10.1.2.3/", "http://172.16.0.1/", "http://192.168.1.1/", "http://100.64.0.1/",
                          "http://0.0.0.0/", "http://224.0.0.1/", "http://255.255.255.255/", "http://[fd00::1]/",
                          "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:169.254.169.254]/",
                          "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/", "http://[::]/",
                          "http://[ff02::1]/", "http://198.18.0.1/"}) {
    Status s = Verdict(url, {});
    EXPECT_EQ(s.code(), Status::Code::kPermissionDenied) << url << ": " << s.ToString();
  }
  EXPECT_TRUE(Verdict("http://8.8.8.8/", {}).ok());
  EXPECT_TRUE(Verdict("http://[2001:4860:4860::8888]/", {}).ok());
  EXPECT_TRUE(Verdict("http://[::ffff:8.8.8.8]/", {}).ok());
}

TEST(OutboundFilter, NamesAreJudgedByTheirAddresses) {
  EXPECT_EQ(Verdict("http://localhost/", {"127.0.0.1", "::1"}).code(), Status::Code::kPermissionDenied);
  // The first allowed address is chosen: the refused one is skipped.
  auto u = ParseOutboundUrl("http://mixed.example/");
  auto a = ChooseAddress(*u, {Ip("10.0.0.1"), Ip("93.184.216.34")}, {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ToString(), "93.184.216.34");
  EXPECT_EQ(Verdict("http://x.example/", {}).code(), Status::Code::kPermissionDenied);  // no address
}

TEST(OutboundFilter, GlanceListsAllowWinsOverDeny) {
  OutboundFilterOptions o;
  o.disallowed_hosts = {"bad.example", "93.184.216.35"};
  EXPECT_FALSE(Verdict("http://bad.example/", {"93.184.216.34"}, o).ok());
  EXPECT_FALSE(Verdict("http://ok.example/", {"93.184.216.35"}, o).ok());  // an address listed
  EXPECT_TRUE(Verdict("http://ok.example/", {"93.184.216.34"}, o).ok());
  o.allowed_hosts = {"good.example"};  // an allow list: the deny list is ignored
  EXPECT_FALSE(Verdict("http://ok.example/", {"93.184.216.34"}, o).ok());
  EXPECT_TRUE(Verdict("http://good.example/", {"93.184.216.35"}, o).ok());

  OutboundFilterOptions ports;
  EXPECT_FALSE(Verdict("http://8.8.8.8:8080/", {}, ports).ok());  // allowed_ports = 80, 443
  EXPECT_TRUE(Verdict("https://8.8.8.8/", {}, ports).ok());
  ports.allowed_ports = {};
  ports.disallowed_ports = {8080};
  EXPECT_FALSE(Verdict("http://8.8.8.8:8080/", {}, ports).ok());
  EXPECT_TRUE(Verdict("http://8.8.8.8:8081/", {}, ports).ok());

  OutboundFilterOptions schemes;
  schemes.allowed_schemes = {"https"};
  EXPECT_FALSE(Verdict("http://8.8.8.8/", {}, schemes).ok());
  schemes.allowed_schemes = {};
  schemes.disallowed_schemes = {"http"};
  EXPECT_FALSE(Verdict("http://8.8.8.8/", {}, schemes).ok());
  EXPECT_TRUE(Verdict("https://8.8.8.8/", {}, schemes).ok());
}

TEST(OutboundFilter, ExplicitAllowancesLiftTheNonGlobalRefusal) {
  OutboundFilterOptions o;
  o.allowed_hosts = {"127.0.0.1", "[::1]", "localhost"};
  o.allowed_ports = {};
  EXPECT_TRUE(Verdict("http://127.0.0.1:8000/", {}, o).ok());
  EXPECT_TRUE(Verdict("http://[::1]:8000/", {}, o).ok());
  EXPECT_TRUE(Verdict("http://localhost:8000/", {"127.0.0.1"}, o).ok());
  EXPECT_FALSE(Verdict("http://169.254.169.254/", {}, o).ok());  // not in the allow list

  OutboundFilterOptions n;
  n.allowed_networks = {"10.0.0.0/8", "fd00::/8"};
  EXPECT_TRUE(Verdict("http://mirror.internal/", {"10.20.30.40"}, n).ok());
  EXPECT_TRUE(Verdict("http://[fd12::1]/", {}, n).ok());
  EXPECT_FALSE(Verdict("http://mirror.internal/", {"192.168.0.1"}, n).ok());
  EXPECT_FALSE(Verdict("http://127.0.0.1/", {}, n).ok());
}

TEST(OutboundFilter, RedirectReferencesResolveAgainstTheBase) {
  auto base = ParseOutboundUrl("http://a.example:8080/dir/file?q=1");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(ResolveReference(*base, "http://b.example/x"), "http://b.example/x");
  EXPECT_EQ(ResolveReference(*base, "//c.example/y"), "http://c.example/y");
  EXPECT_EQ(ResolveReference(*base, "/z"), "http://a.example:8080/z");
  EXPECT_EQ(ResolveReference(*base, "other"), "http://a.example:8080/dir/other");
}

}  // namespace
}  // namespace glint::client
