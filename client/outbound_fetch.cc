#include "client/outbound_fetch.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace glint::client {
namespace {

struct AddrInfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

Result<std::vector<IpAddress>> Resolve(const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &raw);
  std::unique_ptr<addrinfo, AddrInfoFree> list(raw);
  // Unavailable, not a refusal: a lookup can fail for a while (web-download's request-time check lets it pass).
  if (rc != 0) return Status::Unavailable("host '" + host + "' does not resolve: " + gai_strerror(rc));
  std::vector<IpAddress> out;
  for (addrinfo* a = raw; a; a = a->ai_next) {
    IpAddress ip;
    if (a->ai_family == AF_INET) {
      std::memcpy(ip.bytes, &reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr, 4);
    } else if (a->ai_family == AF_INET6) {
      ip.v6 = true;
      std::memcpy(ip.bytes, &reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(ip);
  }
  return out;
}

bool IsRedirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

Result<PinnedUrl> PinUrl(const std::string& url, const OutboundFilterOptions& filter) {
  auto parsed = ParseOutboundUrl(url);
  if (!parsed.ok()) return parsed.status();
  GLINT_RETURN_IF_ERROR(CheckUrl(*parsed, filter));
  std::vector<IpAddress> addresses;
  if (parsed->host_is_ip) {
    addresses.push_back(parsed->ip);
  } else {
    auto resolved = Resolve(parsed->host);
    if (!resolved.ok()) return resolved.status();
    addresses = std::move(resolved).value();
  }
  auto chosen = ChooseAddress(*parsed, addresses, filter);
  if (!chosen.ok()) return chosen.status();
  return PinnedUrl{url, *parsed, *chosen};
}

Result<std::unique_ptr<HttpClient>> PinnedClient(const PinnedUrl& pinned, const ClientOptions& options) {
  ClientOptions o = options;
  o.pin_address = pinned.address.ToString();
  o.pin_host = pinned.parsed.host_is_ip && pinned.parsed.ip.v6 ? "[" + pinned.parsed.host + "]" : pinned.parsed.host;
  o.pin_port = pinned.parsed.port;
  return HttpClient::Create(pinned.parsed.Origin(), o);
}

std::string ResolveReference(const OutboundUrl& base, const std::string& location) {
  if (location.find("://") != std::string::npos &&
      location.find("://") < location.find_first_of("/?#")) {
    return location;
  }
  if (location.rfind("//", 0) == 0) return base.scheme + ":" + location;
  std::string origin = base.scheme + "://" + (base.host_is_ip && base.ip.v6 ? "[" + base.host + "]" : base.host) +
                       ":" + std::to_string(base.port);
  if (!location.empty() && location[0] == '/') return origin + location;
  std::string dir = base.target.substr(0, base.target.find('?'));
  dir = dir.substr(0, dir.rfind('/') + 1);
  if (!location.empty() && location[0] == '?') return origin + base.target.substr(0, base.target.find('?')) + location;
  return origin + dir + location;
}

Result<ClientResponse> FetchFollowingRedirects(const std::string& url, bool head, const OutboundOptions& options,
                                               const std::function<Status(const char*, size_t)>& sink,
                                               const std::function<Status(const ClientResponse&)>& on_head,
                                               PinnedUrl* final_url) {
  std::string current = url;
  for (int hop = 0;; ++hop) {
    auto pinned = PinUrl(current, options.filter);
    if (!pinned.ok()) {
      return hop == 0 ? pinned.status() : pinned.status().Prefixed("redirect to " + current.substr(0, 512) + ": ");
    }
    auto client = PinnedClient(*pinned, options.client);
    if (!client.ok()) return client.status();
    std::string location;
    bool redirected = false;
    // A redirect's body is never read: the head decides.
    auto head_check = [&](const ClientResponse& r) -> Status {
      if (IsRedirect(r.status)) {
        location = r.Header("location");
        redirected = true;
        return Status::Unavailable("redirect");
      }
      return on_head ? on_head(r) : Status::Ok();
    };
    Result<ClientResponse> r = head ? (*client)->Request("HEAD", pinned->parsed.target, {}, "")
                                    : (*client)->Download(pinned->parsed.target, {}, sink, head_check);
    if (head && r.ok() && IsRedirect(r->status)) {
      location = r->Header("location");
      redirected = true;
    }
    if (!redirected) {
      if (r.ok() && head && on_head) GLINT_RETURN_IF_ERROR(on_head(*r));
      if (final_url) *final_url = *pinned;
      return r;
    }
    if (location.empty()) return Status::IOError(current.substr(0, 512) + " redirects without a Location");
    if (hop + 1 > options.max_redirects) {
      return Status::PermissionDenied("more than " + std::to_string(options.max_redirects) + " redirects");
    }
    current = ResolveReference(pinned->parsed, location);
  }
}

}  // namespace glint::client
