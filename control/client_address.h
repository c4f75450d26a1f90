// The address of the client behind a request, for per-address limits (password login
// throttling). The socket's peer, unless that peer is one of the configured trusted
// proxies: then the nearest X-Forwarded-For entry not itself a trusted proxy (entries to
// the left of it were written by whoever connected to the proxy, and may be forged).
// Pure; callable from any thread.
#pragma once

#include <string>
#include <vector>

#include "control/http_types.h"

namespace glint::control {

std::string ClientAddress(const HttpRequest& req, const std::vector<std::string>& trusted_proxies);

}  // namespace glint::control
