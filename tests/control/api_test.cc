// ApiService driven without a socket: routing, request parsing, JSON patch, uploads
// through UploadSession on an inline executor, downloads and ranges; memory store.
#include <nlohmann/json.hpp>

#include <random>

#include "auth/authenticator.h"
#include "catalog/catalog.h"
#include "common/digest.h"
#include "control/api_service.h"
#include "control/json_writer.h"
#include "store/backend.h"
#include "tests/support/test_support.h"

namespace glint::control {
namespace {

using nlohmann::json;

TEST(JsonWriter, EscapesWhatJsonNeedsAndPassesTheRest) {
  std::string out;
  JsonWriter w(out);
  const std::string nasty = std::string("a\"b\\c\n\r\t\b\f") + '\x01' + '\x1f' + "d\xc3\xa9/\x7f" +
                            std::string(1, '\0') + "end";
  w.BeginObject();
  w.Key("k\"ey");
  w.String(nasty);
  w.Key("plain");
  w.String("0123456789abcdef-ghij");
  w.Key("empty");
  w.String("");
  w.EndObject();
  EXPECT_EQ(out, "{\"k\\\"ey\":\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001fd\xc3\xa9/\x7f\\u0000end\","
                 "\"plain\":\"0123456789abcdef-ghij\",\"empty\":\"\"}");
  auto parsed = json::parse(out);  // and a real parser reads back the same bytes
  EXPECT_EQ(parsed["k\"ey"].get<std::string>(), nasty);
}

TEST(JsonWriter, RandomAsciiStringsRoundTrip) {
  std::mt19937 rng(5);
  for (int i = 0; i < 3000; ++i) {
    std::string v(rng() % 40, ' ');
    for (char& c : v) c = static_cast<char>(rng() % 128);  // every control byte, quote, backslash
    std::string out;
    JsonWriter w(out);
    w.BeginArray();
    w.String(v);
    w.EndArray();
    ASSERT_EQ(json::parse(out)[0].get<std::string>(), v) << out;
  }
}

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s;
    catalog_ = catalog::OpenCatalog("sqlite:///" + dir_.path() + "/c.db", &s);
    ASSERT_TRUE(catalog_) << s.ToString();
    stores_.Add("file", "memory", store::NewMemoryBackend("file"), true);
    backend_ = stores_.Default();
    auth_ = auth::NewAdminTokenAuthenticator("tok");
    config_.image_size_cap = 10 << 20;
    api_ = std::make_unique<ApiService>(config_, *catalog_, stores_, *auth_,
                                        [](std::function<void()> f) { f(); });
  }

  HttpResponse Call(const std::string& method, const std::string& target, const std::string& body = "",
                    HeaderList headers = {}) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    ParseTarget(target, &req.path, &req.query);
    req.headers = std::move(headers);
    req.headers.emplace_back("x-auth-token", "tok");
    req.headers.emplace_back("host", "glint.example:9292");
    req.body = body;
    ApiService::AssignRequestId(req);
    return api_->Handle(req);
  }

  std::string Create(const json& body) {
    auto r = Call("POST", "/v2/images", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return json::parse(r.body)["id"];
  }

  HttpResponse Upload(const std::string& id, const std::string& data, size_t piece = 300000) {
    HttpRequest head;
    head.method = "PUT";
    head.target = head.path = "/v2/images/" + id + "/file";
    head.headers = {{"x-auth-token", "tok"}, {"content-type", "application/octet-stream"}};
    ApiService::AssignRequestId(head);
    EXPECT_TRUE(api_->IsUpload(head));
    auto begun = api_->BeginUpload(head, data.size());
    if (auto* r = std::get_if<HttpResponse>(&begun)) return std::move(*r);
    auto upload = std::get<std::shared_ptr<UploadSession>>(begun);
    for (size_t off = 0; off < data.size(); off += piece) {
      UploadChunk* c = upload->TakeBuffer();
      EXPECT_NE(c, nullptr);
      c->len = std::min({piece, data.size() - off, c->capacity});
      std::memcpy(c->data.get(), data.data() + off, c->len);
      Status s = upload->Submit(c);
      if (!s.ok()) break;
    }
    HttpResponse out;
    upload->Finish(Status::Ok(), [&](HttpResponse r) { out = std::move(r); });
    return out;
  }

  glint::testing::TempDir dir_;
  Config config_;
  std::unique_ptr<catalog::Catalog> catalog_;
  store::StoreSet stores_;
  store::Backend* backend_ = nullptr;
  std::unique_ptr<auth::Authenticator> auth_;
  std::unique_ptr<ApiService> api_;
};

TEST(HttpTypes, ParseTargetDecodes) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> q;
  ParseTarget("/v2/images?name=a%20b&tag=x&tag=y+z&flag", &path, &q);
  EXPECT_EQ(path, "/v2/images");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"name", "a b"}));
  EXPECT_EQ(q[2].second, "y z");
  EXPECT_EQ(q[3].first, "flag");
  EXPECT_EQ(UrlDecode("%zz%4", false), "%zz%4");
}

TEST_F(ApiTest, RoutingStatusCodes) {
  EXPECT_EQ(Call("GET", "/").status, 300);
  EXPECT_EQ(Call("GET", "/versions").status, 200);
  // Glance's version negotiation: no listed version first, the version list (any method).
  EXPECT_EQ(Call("GET", "/nope").status, 300);
  EXPECT_EQ(Call("HEAD", "/").status, 300);
  EXPECT_EQ(Call("GET", "/v3/images").status, 300);
  EXPECT_EQ(Call("GET", "/v2.8/images").status, 300);  // 2.8 is listed with multi-store only
  EXPECT_EQ(Call("GET", "/v2.15/images").status, 200);
  EXPECT_EQ(Call("GET", "/v2/nope").status, 404);
  auto r = Call("DELETE", "/v2/images");
  EXPECT_EQ(r.status, 405);
  bool allow = false;
  for (auto& [k, v] : r.headers) allow |= (k == "Allow" && v == "GET, POST");
  EXPECT_TRUE(allow);
  EXPECT_EQ(Call("GET", "/v2.9/images").status, 200);
  auto err = json::parse(Call("GET", "/v2/images/" + std::string(36, 'x')).body);
  EXPECT_EQ(err["error"]["code"], 404);
}

TEST_F(ApiTest, RejectsUnauthenticated) {
  HttpRequest req;
  req.method = "GET";
  req.target = req.path = "/v2/images";
  ApiService::AssignRequestId(req);
  EXPECT_EQ(api_->Handle(req).status, 401);
}

TEST_F(ApiTest, CreateValidates) {
  EXPECT_EQ(Call("POST", "/v2/images", "{bad").status, 400);
  EXPECT_EQ(Call("POST", "/v2/images", "[]").status, 400);
  EXPECT_EQ(Call("POST", "/v2/images", R"({"status":"active"})").status, 403);
  EXPECT_EQ(Call("POST", "/v2/images", R"({"os_glance_x":"1"})").status, 403);
  EXPECT_EQ(Call("POST", "/v2/images", R"({"disk_format":"floppy"})").status, 400);
  EXPECT_EQ(Call("POST", "/v2/images", R"({"min_ram":-1})").status, 400);
  EXPECT_EQ(Call("POST", "/v2/images", R"({"custom":5})").status, 400);
  json many = json::object();
  for (int i = 0; i < 129; ++i) many["p" + std::to_string(i)] = "v";
  EXPECT_EQ(Call("POST", "/v2/images", many.dump()).status, 413);
  auto r = Call("POST", "/v2/images", R"({"name":"n","custom":"v"})");
  ASSERT_EQ(r.status, 201);
  auto img = json::parse(r.body);
  EXPECT_EQ(img["visibility"], "shared");
  EXPECT_EQ(img["custom"], "v");
  EXPECT_TRUE(img["size"].is_null());
}

TEST_F(ApiTest, PatchOperations) {
  std::string id = Create({{"name", "p"}, {"a", "1"}});
  HeaderList patch = {{"content-type", "application/openstack-images-v2.1-json-patch"}};
  auto ok = Call("PATCH", "/v2/images/" + id,
                 R"([{"op":"replace","path":"/name","value":"q"},{"op":"add","path":"/b~1c","value":"2"},)"
                 R"({"op":"remove","path":"/a"}])",
                 patch);
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto img = json::parse(ok.body);
  EXPECT_EQ(img["name"], "q");
  EXPECT_EQ(img["b/c"], "2");
  EXPECT_FALSE(img.contains("a"));
  EXPECT_EQ(Call("PATCH", "/v2/images/" + id, R"([{"op":"remove","path":"/a"}])", patch).status, 409);
  EXPECT_EQ(Call("PATCH", "/v2/images/" + id, R"([{"op":"move","path":"/a"}])", patch).status, 400);
  EXPECT_EQ(Call("PATCH", "/v2/images/" + id, R"([{"op":"replace","path":"/size","value":1}])", patch).status, 403);
  // Atomic: a failing op leaves the earlier ones unapplied.
  EXPECT_EQ(Call("PATCH", "/v2/images/" + id,
                 R"([{"op":"replace","path":"/name","value":"z"},{"op":"remove","path":"/nope"}])", patch)
                .status,
            409);
  EXPECT_EQ(json::parse(Call("GET", "/v2/images/" + id).body)["name"], "q");
  auto wrong = Call("PATCH", "/v2/images/" + id, "[]", {{"content-type", "application/json"}});
  EXPECT_EQ(wrong.status, 415);
}

TEST_F(ApiTest, UploadDownloadAndRanges) {
  std::string id = Create({{"disk_format", "raw"}, {"container_format", "bare"}});
  std::string data(2'500'000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + 3);
  auto r = Upload(id, data);
  ASSERT_EQ(r.status, 204) << r.body;
  auto img = json::parse(Call("GET", "/v2/images/" + id).body);
  EXPECT_EQ(img["status"], "active");
  EXPECT_EQ(img["size"], data.size());
  EXPECT_EQ(img["virtual_size"], data.size());
  Digest md5(Digest::Algorithm::kMd5), sha(Digest::Algorithm::kSha512);
  md5.Update(data.data(), data.size());
  sha.Update(data.data(), data.size());
  EXPECT_EQ(img["checksum"], md5.FinishHex());
  EXPECT_EQ(img["os_hash_value"], sha.FinishHex());
  EXPECT_EQ(Upload(id, "again").status, 409);

  auto dl = Call("GET", "/v2/images/" + id + "/file");
  ASSERT_EQ(dl.status, 200);
  ASSERT_TRUE(dl.data);
  EXPECT_EQ(dl.length, static_cast<int64_t>(data.size()));
  auto part = Call("GET", "/v2/images/" + id + "/file", "", {{"range", "bytes=100-199"}});
  EXPECT_EQ(part.status, 206);
  EXPECT_EQ(part.offset, 100);
  EXPECT_EQ(part.length, 100);
  EXPECT_EQ(Call("GET", "/v2/images/" + id + "/file", "", {{"range", "bytes=9999999-"}}).status, 416);
  EXPECT_EQ(Call("GET", "/v2/images/" + id + "/file", "", {{"range", "bytes=-10"}}).offset,
            static_cast<int64_t>(data.size()) - 10);
}

TEST_F(ApiTest, UploadOverCapGoesBackToQueued) {
  std::string id = Create({{"disk_format", "raw"}, {"container_format", "bare"}});
  auto r = Upload(id, std::string(11 << 20, 'x'), 1 << 20);
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(json::parse(Call("GET", "/v2/images/" + id).body)["status"], "queued");
  auto objects = backend_->ListObjects();
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->empty());
}

TEST_F(ApiTest, Qcow2VirtualSizeFromHeader) {
  std::string id = Create({{"disk_format", "qcow2"}, {"container_format", "bare"}});
  std::string header(512, '\0');
  auto put_be = [&](size_t off, uint64_t v, int width) {
    for (int i = width - 1; i >= 0; --i, v >>= 8) header[off + i] = static_cast<char>(v & 0xff);
  };
  header.replace(0, 4, "QFI\xfb");
  put_be(4, 3, 4);          // version 3
  put_be(20, 16, 4);        // 64 KiB clusters
  uint64_t vsize = 1ull << 33;
  put_be(24, vsize, 8);
  put_be(48, 0x10000, 8);   // refcount table
  put_be(56, 1, 4);
  put_be(100, 104, 4);      // header length
  ASSERT_EQ(Upload(id, header).status, 204);
  auto img = json::parse(Call("GET", "/v2/images/" + id).body);
  EXPECT_EQ(img["virtual_size"], vsize);
  EXPECT_EQ(img["os_glint_format_check"], "passed: qcow2");
  // Data that is no qcow2 is refused, and the image stays queued.
  std::string other = Create({{"disk_format", "qcow2"}, {"container_format", "bare"}});
  auto refused = Upload(other, "not a qcow2 at all");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("the data is a raw image, but disk_format is qcow2"), std::string::npos) << refused.body;
  EXPECT_EQ(json::parse(Call("GET", "/v2/images/" + other).body)["status"], "queued");
}

TEST_F(ApiTest, ListPagingAndNextLink) {
  for (int i = 0; i < 5; ++i) Create({{"name", "n" + std::to_string(i)}});
  auto page = json::parse(Call("GET", "/v2/images?limit=2&sort=name:asc").body);
  ASSERT_EQ(page["images"].size(), 2u);
  EXPECT_EQ(page["images"][0]["name"], "n0");
  std::string next = page["next"];
  EXPECT_EQ(next.rfind("/v2/images?limit=2&sort=name%3Aasc&marker=", 0), 0u) << next;
  auto page2 = json::parse(Call("GET", next).body);
  EXPECT_EQ(page2["images"][0]["name"], "n2");
  EXPECT_EQ(Call("GET", "/v2/images?limit=-1").status, 400);
  EXPECT_EQ(Call("GET", "/v2/images?sort_key=bogus").status, 400);
  EXPECT_EQ(Call("GET", "/v2/images?marker=" + std::string("00000000-0000-0000-0000-000000000000")).status, 400);
}

}  // namespace
}  // namespace glint::control

namespace glint::control {
namespace {

TEST_F(ApiTest, ListEtagAnswers304UntilSomethingChanges) {
  Create({{"name", "a"}});
  auto first = Call("GET", "/v2/images");
  std::string etag;
  for (auto& [k, v] : first.headers) {
    if (k == "ETag") etag = v;
  }
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Call("GET", "/v2/images", "", {{"if-none-match", etag}}).status, 304);
  std::string id = Create({{"name", "b"}});
  EXPECT_EQ(Call("GET", "/v2/images", "", {{"if-none-match", etag}}).status, 200);
  auto again = Call("GET", "/v2/images");
  for (auto& [k, v] : again.headers) {
    if (k == "ETag") etag = v;
  }
  EXPECT_EQ(Call("PUT", "/v2/images/" + id + "/tags/t").status, 204);
  EXPECT_EQ(Call("GET", "/v2/images", "", {{"if-none-match", etag}}).status, 200);
}

class ThrowingAuthenticator final : public auth::Authenticator {
 public:
  Result<auth::RequestContext> Authenticate(const auth::Credentials&) override {
    throw std::runtime_error("boom");
  }
};

TEST(ApiBoundary, AnExceptionInAHandlerIsA500WithGlancesErrorBody) {
  glint::testing::TempDir dir;
  Status s;
  auto catalog = catalog::OpenCatalog("sqlite:///" + dir.path() + "/c.db", &s);
  ASSERT_TRUE(catalog) << s.ToString();
  store::StoreSet stores(false);
  stores.Add("file", "memory", store::NewMemoryBackend("file"), true);
  ThrowingAuthenticator auth;
  Config config;
  ApiService api(config, *catalog, stores, auth, [](std::function<void()> f) { f(); });
  for (const char* method : {"GET", "PUT"}) {
    HttpRequest req;
    req.method = method;
    req.target = "/v2/images/" + std::string(36, 'a') + (std::string(method) == "PUT" ? "/file" : "");
    ParseTarget(req.target, &req.path, &req.query);
    req.headers = {{"x-auth-token", "t"}, {"content-type", "application/octet-stream"}};
    ApiService::AssignRequestId(req);
    HttpResponse r;
    if (api.IsUpload(req)) {
      auto begun = api.BeginUpload(req, 10);
      ASSERT_TRUE(std::holds_alternative<HttpResponse>(begun));
      r = std::get<HttpResponse>(std::move(begun));
    } else {
      r = api.Handle(req);
    }
    EXPECT_EQ(r.status, 500) << method;
    auto body = json::parse(r.body);
    EXPECT_EQ(body["error"]["code"], 500);
    bool has_id = false;
    for (const auto& [k, v] : r.headers) has_id |= k == "x-openstack-request-id" && v == req.request_id;
    EXPECT_TRUE(has_id);
  }
}

}  // namespace
}  // namespace glint::control
