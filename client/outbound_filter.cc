#include "client/outbound_filter.h"
#include "common/text.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace glint::client {
namespace {

constexpr size_t kMaxUrl = 8192;

// A non-global range and what it is, for messages.
struct Range {
  bool v6;
  uint8_t prefix[16];
  int bits;
  const char* what;
};

const Range kSpecial[] = {
    {false, {0}, 8, "an unspecified/\"this network\" address"},
    {false, {10}, 8, "a private (RFC 1918) address"},
    {false, {100, 64}, 10, "a carrier-grade NAT (RFC 6598) address"},
    {false, {127}, 8, "a loopback address"},
    {false, {169, 254}, 16, "a link-local address (cloud metadata services live here)"},
    {false, {172, 16}, 12, "a private (RFC 1918) address"},
    {false, {192, 0, 0}, 24, "an IETF protocol-assignment address"},
    {false, {192, 0, 2}, 24, "a documentation address"},
    {false, {192, 88, 99}, 24, "a 6to4 relay anycast address"},
    {false, {192, 168}, 16, "a private (RFC 1918) address"},
    {false, {198, 18}, 15, "a benchmarking address"},
    {false, {198, 51, 100}, 24, "a documentation address"},
    {false, {203, 0, 113}, 24, "a documentation address"},
    {false, {224}, 4, "a multicast address"},
    {false, {240}, 4, "a reserved or broadcast address"},
    {true, {0}, 128, "the unspecified address"},
    {true, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "the loopback address"},
    {true, {0}, 96, "an IPv4-compatible (deprecated) address"},
    {true, {0, 0x64, 0xff, 0x9b, 0, 1}, 48, "a local-use NAT64 address"},
    {true, {0x01}, 64, "a discard-only address"},
    {true, {0x20, 0x01, 0x0d, 0xb8}, 32, "a documentation address"},
    {true, {0x20, 0x01}, 23, "an IETF protocol-assignment address"},
    {true, {0x3f, 0xff}, 20, "a documentation address"},
    {true, {0x5f, 0x00}, 16, "a segment-routing address"},
    {true, {0xfc}, 7, "a unique local (private, fc00::/7) address"},
    {true, {0xfe, 0x80}, 10, "a link-local address"},
    {true, {0xfe, 0xc0}, 10, "a site-local (deprecated) address"},
    {true, {0xff}, 8, "a multicast address"},
};

bool InPrefix(const IpAddress& a, const uint8_t* prefix, int bits) {
  for (int i = 0; i < bits / 8; ++i) {
    if (a.bytes[i] != prefix[i]) return false;
  }
  if (bits % 8 == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - bits % 8));
  return (a.bytes[bits / 8] & mask) == (prefix[bits / 8] & mask);
}

// The IPv4 address an IPv6 one carries and leads to: IPv4-mapped (::ffff:a.b.c.d), the
// well-known NAT64 prefix (64:ff9b::/96) and 6to4 (2002:a.b.c.d::/48).
std::optional<IpAddress> EmbeddedV4(const IpAddress& a) {
  if (!a.v6) return std::nullopt;
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  IpAddress v4;
  if (std::memcmp(a.bytes, kMapped, 12) == 0 || std::memcmp(a.bytes, kNat64, 12) == 0) {
    std::memcpy(v4.bytes, a.bytes + 12, 4);
    return v4;
  }
  if (a.bytes[0] == 0x20 && a.bytes[1] == 0x02) {
    std::memcpy(v4.bytes, a.bytes + 2, 4);
    return v4;
  }
  return std::nullopt;
}

// Why `a` is not global, or nullptr when it is.
const char* NonGlobalReason(const IpAddress& a) {
  if (auto v4 = EmbeddedV4(a)) {
    if (const char* r = NonGlobalReason(*v4)) return r;
    return nullptr;
  }
  for (const Range& r : kSpecial) {
    if (r.v6 == a.v6 && InPrefix(a, r.prefix, r.bits)) return r.what;
  }
  if (a.v6 && (a.bytes[0] & 0xe0) != 0x20) return "an address outside global unicast (2000::/3)";
  return nullptr;
}

// inet_aton's reading of a numeric host (1 to 4 parts, each decimal, 0-octal or 0x-hex,
// the last filling the remaining bytes); nullopt when it is no such number.
std::optional<IpAddress> InetAtonReading(const std::string& host) {
  std::vector<uint64_t> parts;
  size_t i = 0;
  while (i <= host.size()) {
    size_t end = host.find('.', i);
    if (end == std::string::npos) end = host.size();
    std::string p = host.substr(i, end - i);
    if (p.empty() || p.size() > 40 || parts.size() == 4) return std::nullopt;
    int base = 10;
    size_t start = 0;
    if (p.size() > 1 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      base = 16;
      start = 2;
    } else if (p.size() > 1 && p[0] == '0') {
      base = 8;
      start = 1;
    }
    uint64_t v = 0;
    for (size_t k = start; k < p.size(); ++k) {
      int d = std::isdigit(static_cast<unsigned char>(p[k])) ? p[k] - '0'
              : std::isxdigit(static_cast<unsigned char>(p[k])) ? std::tolower(p[k]) - 'a' + 10
                                                                 : 99;
      if (d >= base) return std::nullopt;
      v = v * base + d;
      if (v > 0xffffffffULL) return std::nullopt;
    }
    parts.push_back(v);
    i = end + 1;
  }
  if (parts.empty()) return std::nullopt;
  uint32_t value = 0;
  for (size_t k = 0; k + 1 < parts.size(); ++k) {
    if (parts[k] > 255) return std::nullopt;
    value |= static_cast<uint32_t>(parts[k]) << (24 - 8 * k);
  }
  int last_bits = 32 - 8 * static_cast<int>(parts.size() - 1);
  if (last_bits < 32 && parts.back() >= (uint64_t{1} << last_bits)) return std::nullopt;
  value |= static_cast<uint32_t>(parts.back());
  IpAddress a;
  for (int k = 0; k < 4; ++k) a.bytes[k] = static_cast<uint8_t>(value >> (24 - 8 * k));
  return a;
}

bool ValidHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

Status ParseHost(const std::string& authority, OutboundUrl* out, std::string* port_text) {
  std::string host;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos) return Status::InvalidArgument("unclosed '[' in the host");
    host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return Status::InvalidArgument("text after ']' in the host");
    if (!rest.empty()) *port_text = rest.substr(1);
    if (host.find('%') != std::string::npos) return Status::InvalidArgument("IPv6 zone ids are not allowed");
    auto ip = ParseIpLiteral(host);
    if (!ip || !ip->v6) return Status::InvalidArgument("'[" + host + "]' is no IPv6 address");
    out->host_is_ip = true;
    out->ip = *ip;
    out->host = ip->ToString();
    return Status::Ok();
  }
  size_t colon = authority.find(':');
  host = AsciiLower(authority.substr(0, colon));
  if (colon != std::string::npos) *port_text = authority.substr(colon + 1);
  if (!host.empty() && host.back() == '.') host.pop_back();
  if (host.empty()) return Status::InvalidArgument("no host");
  if (!std::all_of(host.begin(), host.end(), ValidHostChar) || host.front() == '.' || host.back() == '.' ||
      host.find("..") != std::string::npos) {
    return Status::InvalidArgument("'" + host + "' is not a host name");
  }
  if (auto ip = ParseIpLiteral(host); ip && !ip->v6) {
    out->host_is_ip = true;
    out->ip = *ip;
    out->host = ip->ToString();
    return Status::Ok();
  }
  if (auto reading = InetAtonReading(host)) {
    return Status::InvalidArgument("host '" + host + "' is a non-canonical spelling of IPv4 address " +
                                   reading->ToString() + "; write addresses as four decimal numbers");
  }
  if (host.find_first_not_of("0123456789.") == std::string::npos) {
    return Status::InvalidArgument("host '" + host + "' is neither an IPv4 address nor a host name");
  }
  out->host = host;
  return Status::Ok();
}

bool HostListed(const OutboundUrl& url, const std::vector<std::string>& list) {
  for (std::string entry : list) {
    entry = AsciiLower(entry);
    if (entry.size() > 2 && entry.front() == '[' && entry.back() == ']') entry = entry.substr(1, entry.size() - 2);
    if (!entry.empty() && entry.back() == '.') entry.pop_back();
    auto ip = ParseIpLiteral(entry);
    if (url.host_is_ip && ip ? *ip == url.ip : entry == url.host) return true;
  }
  return false;
}

bool AddressListed(const IpAddress& a, const std::vector<std::string>& list) {
  for (const auto& entry : list) {
    if (auto ip = ParseIpLiteral(entry); ip && *ip == a) return true;
  }
  return false;
}

bool InNetworks(const IpAddress& a, const std::vector<std::string>& networks) {
  for (const auto& n : networks) {
    size_t slash = n.find('/');
    auto base = ParseIpLiteral(n.substr(0, slash));
    if (!base || base->v6 != a.v6) continue;
    int max = a.v6 ? 128 : 32, bits = max;
    if (slash != std::string::npos) {
      std::string b = n.substr(slash + 1);
      if (b.empty() || b.size() > 3 || b.find_first_not_of("0123456789") != std::string::npos) continue;
      bits = std::stoi(b);
      if (bits > max) continue;
    }
    if (InPrefix(a, base->bytes, bits)) return true;
  }
  return false;
}

}  // namespace

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf);
  return buf;
}

bool IpAddress::operator==(const IpAddress& o) const {
  return v6 == o.v6 && std::memcmp(bytes, o.bytes, v6 ? 16 : 4) == 0;
}

std::optional<IpAddress> ParseIpLiteral(const std::string& text) {
  IpAddress a;
  if (text.size() > 64) return std::nullopt;
  if (text.find(':') != std::string::npos) {
    a.v6 = true;
    if (inet_pton(AF_INET6, text.c_str(), a.bytes) != 1) return std::nullopt;
    return a;
  }
  // Canonical dotted quad only: four decimal numbers, no leading zeros.
  int parts = 0;
  size_t i = 0;
  while (i <= text.size() && parts < 4) {
    size_t end = text.find('.', i);
    if (end == std::string::npos) end = text.size();
    std::string p = text.substr(i, end - i);
    if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos ||
        (p.size() > 1 && p[0] == '0') || std::stoi(p) > 255) {
      return std::nullopt;
    }
    a.bytes[parts++] = static_cast<uint8_t>(std::stoi(p));
    i = end + 1;
  }
  if (parts != 4 || i != text.size() + 1) return std::nullopt;
  return a;
}

std::string OutboundUrl::Origin() const {
  std::string h = host_is_ip && ip.v6 ? "[" + host + "]" : host;
  return scheme + "://" + h + (explicit_port ? ":" + std::to_string(port) : "");
}

Result<OutboundUrl> ParseOutboundUrl(const std::string& url) {
  if (url.size() > kMaxUrl) return Status::InvalidArgument("URL longer than 8 KiB");
  for (char c : url) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') {
      return Status::InvalidArgument("URL contains a space, a control character or a backslash");
    }
  }
  size_t sep = url.find("://");
  if (sep == std::string::npos) return Status::InvalidArgument("not an absolute URL (scheme://host/...)");
  OutboundUrl out;
  out.scheme = AsciiLower(url.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    return Status::InvalidArgument("scheme '" + out.scheme.substr(0, 32) + "' is not supported (http, https)");
  }
  size_t auth_end = url.find_first_of("/?#", sep + 3);
  std::string authority = url.substr(sep + 3, auth_end == std::string::npos ? std::string::npos : auth_end - sep - 3);
  if (authority.find('@') != std::string::npos) {
    return Status::InvalidArgument("credentials in the URL (user@host) are not accepted");
  }
  std::string port_text;
  GLINT_RETURN_IF_ERROR(ParseHost(authority, &out, &port_text).Prefixed("URL host: "));
  out.port = out.scheme == "https" ? 443 : 80;
  if (authority.find(':') != std::string::npos && (out.host_is_ip && out.ip.v6 ? !port_text.empty() : true)) {
    if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(port_text) < 1 || std::stoi(port_text) > 65535) {
      return Status::InvalidArgument("URL port '" + port_text.substr(0, 16) + "' is not a number in 1..65535");
    }
    out.port = std::stoi(port_text);
    out.explicit_port = true;
  }
  std::string rest = auth_end == std::string::npos ? "" : url.substr(auth_end);
  rest = rest.substr(0, rest.find('#'));
  if (rest.empty() || rest[0] != '/') rest = "/" + rest;
  out.target = rest;
  return out;
}

Status CheckUrl(const OutboundUrl& url, const OutboundFilterOptions& o) {
  const auto& allow_s = o.allowed_schemes;
  bool scheme_ok = allow_s.empty() ? std::find(o.disallowed_schemes.begin(), o.disallowed_schemes.end(), url.scheme) ==
                                         o.disallowed_schemes.end()
                                   : std::find(allow_s.begin(), allow_s.end(), url.scheme) != allow_s.end();
  if (!scheme_ok) return Status::PermissionDenied("scheme '" + url.scheme + "' is not allowed");
  bool host_ok = o.allowed_hosts.empty() ? !HostListed(url, o.disallowed_hosts) : HostListed(url, o.allowed_hosts);
  if (!host_ok) return Status::PermissionDenied("host '" + url.host + "' is not allowed");
  const auto& allow_p = o.allowed_ports;
  bool port_ok = allow_p.empty() ? std::find(o.disallowed_ports.begin(), o.disallowed_ports.end(), url.port) ==
                                       o.disallowed_ports.end()
                                 : std::find(allow_p.begin(), allow_p.end(), url.port) != allow_p.end();
  if (!port_ok) return Status::PermissionDenied("port " + std::to_string(url.port) + " is not allowed");
  return Status::Ok();
}

bool IsGlobalAddress(const IpAddress& address) { return NonGlobalReason(address) == nullptr; }

Result<IpAddress> ChooseAddress(const OutboundUrl& url, const std::vector<IpAddress>& resolved,
                                const OutboundFilterOptions& o) {
  if (resolved.empty()) return Status::PermissionDenied("host '" + url.host + "' has no address");
  // An allowed_hosts entry is the operator's word for this host (as in Glance).
  if (!o.allowed_hosts.empty() && HostListed(url, o.allowed_hosts)) return resolved.front();
  std::string refused;
  for (const auto& a : resolved) {
    const char* why = NonGlobalReason(a);
    if (why && !InNetworks(a, o.allowed_networks)) {
      refused += (refused.empty() ? "" : "; ") + a.ToString() + " is " + why;
      continue;
    }
    if (o.allowed_hosts.empty() && AddressListed(a, o.disallowed_hosts)) {
      refused += (refused.empty() ? "" : "; ") + a.ToString() + " is in disallowed_hosts";
      continue;
    }
    return a;
  }
  if (refused.size() > 512) refused = refused.substr(0, 512) + "...";
  return Status::PermissionDenied("no allowed address for host '" + url.host + "': " + refused);
}

}  // namespace glint::client
