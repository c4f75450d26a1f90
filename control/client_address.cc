#include "common/text.h"
#include "control/client_address.h"

#include <algorithm>
#include <string_view>

namespace glint::control {
namespace {

constexpr size_t kMaxAddress = 64;  // an IPv6 address with a zone fits

bool Trusted(std::string_view address, const std::vector<std::string>& proxies) {
  return std::find(proxies.begin(), proxies.end(), address) != proxies.end();
}

}  // namespace

std::string ClientAddress(const HttpRequest& req, const std::vector<std::string>& trusted_proxies) {
  if (req.peer.empty() || !Trusted(req.peer, trusted_proxies)) return req.peer;
  std::string_view forwarded = req.Header("x-forwarded-for");
  // From the right: each trusted proxy appended the address it saw.
  while (!forwarded.empty()) {
    size_t comma = forwarded.rfind(',');
    std::string_view entry = TrimView(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
    forwarded = comma == std::string_view::npos ? std::string_view() : forwarded.substr(0, comma);
    if (entry.empty() || entry.size() > kMaxAddress) break;
    if (!Trusted(entry, trusted_proxies)) return std::string(entry);
  }
  return req.peer;  // no usable entry: count the proxy itself
}

}  // namespace glint::control
