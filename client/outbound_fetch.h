// OutboundFetch: fetching a user-supplied URL (web-download, the http store) through the
// OutboundFilter. The host is resolved once, here; the filter picks an allowed address and
// the connection goes to exactly that address (curl's resolve list plus a socket callback
// that refuses any other), never through a proxy. Redirects are followed by hand, at most
// `max_redirects`, each new URL parsed, filtered, resolved and pinned again.
//
// Blocking; used from worker threads. No state beyond the call.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "client/outbound_filter.h"

namespace glint::client {

struct OutboundOptions {
  OutboundFilterOptions filter;
  ClientOptions client;   // ca_file, timeouts (the pin fields are set here, not by callers)
  int max_redirects = 5;
};

// A URL that passed the filter, and the address it may be fetched from.
struct PinnedUrl {
  std::string url;
  OutboundUrl parsed;
  IpAddress address;
};

// Parses, filters, resolves (getaddrinfo, once) and chooses. InvalidArgument for a URL
// that cannot be read; PermissionDenied for one the filter refuses.
Result<PinnedUrl> PinUrl(const std::string& url, const OutboundFilterOptions& filter);
// An HttpClient for `pinned`'s origin that connects only to its address; requests take
// `pinned.parsed.target`.
Result<std::unique_ptr<HttpClient>> PinnedClient(const PinnedUrl& pinned, const ClientOptions& options);

// GETs `url` (or HEADs it, with `head`), following redirects as described above. A 2xx
// body goes to `sink`; `on_head` sees the final answer's head. `final_url` (optional)
// gets the URL that answered.
Result<ClientResponse> FetchFollowingRedirects(const std::string& url, bool head, const OutboundOptions& options,
                                               const std::function<Status(const char*, size_t)>& sink,
                                               const std::function<Status(const ClientResponse&)>& on_head,
                                               PinnedUrl* final_url = nullptr);

// Where a redirect's `location` leads from `base` (absolute, scheme-relative,
// absolute-path or relative-path reference).
std::string ResolveReference(const OutboundUrl& base, const std::string& location);

}  // namespace glint::client
