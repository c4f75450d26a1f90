// HttpClient: Glint's outbound HTTP, for the `glint` CLI, glint-fs's HTTP data path and
// image view, and the Keystone client. One implementation, over libcurl (TLS with the
// system CA bundle or a configured one, connect and stall timeouts, one kept-alive
// connection per client object). No server code lives in this library.
//
// Threads: a client object is used by one thread at a time; make one per thread (or per
// open file) or guard it. Nothing in here holds a process-wide lock during I/O.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace glint::client {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ClientOptions {
  std::string ca_file;          // PEM bundle for https; empty: the system bundle
  bool verify_tls = true;       // false only for tests against self-signed servers
  int connect_timeout_ms = 5000;
  // A response (head or body) that delivers no byte for this long fails as Unavailable:
  // a peer that accepts and never answers cannot hold the caller forever.
  int stall_timeout_ms = 30000;
  // Pinning (outbound fetches, outbound_fetch.h): connect only to `pin_address` (an IP
  // literal) for the base URL's host and port, never to a DNS answer or a proxy; any
  // other address curl would connect to is refused before the connect.
  std::string pin_address;
  std::string pin_host;
  int pin_port = 0;
};

struct ClientResponse {
  int status = 0;
  HeaderList headers;  // names lowercased
  std::string body;    // empty when streamed to a sink
  std::string Header(const std::string& lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return "";
  }
};

class HttpClient {
 public:
  // `base_url` like http://127.0.0.1:9292 or https://glance.example:9292/prefix; targets
  // passed to the calls below are appended to it.
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& base_url,
                                                    const ClientOptions& options = {});
  virtual ~HttpClient() = default;

  // A request with a small body and a small (at most 64 MiB) answer.
  virtual Result<ClientResponse> Request(const std::string& method, const std::string& target,
                                         const HeaderList& headers, const std::string& body) = 0;
  // Sends `length` bytes produced by `source(buf, max) -> bytes` as the body.
  virtual Result<ClientResponse> Upload(const std::string& method, const std::string& target,
                                        const HeaderList& headers, uint64_t length,
                                        const std::function<Result<size_t>(char*, size_t)>& source) = 0;
  // Streams a successful (2xx) response body to `sink`; other bodies come back in `body`.
  // A failure after part of the body reached the sink is reported as an error (never a
  // short success).
  // `on_head` (optional) sees the status and headers before any body byte; a non-OK
  // answer from it aborts the transfer with that status.
  virtual Result<ClientResponse> Download(
      const std::string& target, const HeaderList& headers,
      const std::function<Status(const char*, size_t)>& sink,
      const std::function<Status(const ClientResponse&)>& on_head = nullptr) = 0;
};

// Reads exactly bytes [offset, offset + len) of `target` into `buf` with Range requests.
// Only a 206 whose Content-Range starts where asked is accepted (a 200 to a ranged read is
// an error: it would be the wrong bytes); a connection that breaks mid-body is resumed from
// the first missing byte, a bounded number of times. Returns the bytes read: `len`, or
// fewer only at the end of the resource. `status_out` gets the last HTTP status.
Result<size_t> ReadRange(HttpClient& client, const std::string& target, const HeaderList& headers,
                         int64_t offset, char* buf, size_t len, int* status_out = nullptr);

}  // namespace glint::client
