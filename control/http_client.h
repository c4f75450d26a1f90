// HttpClient: a small blocking HTTP/1.1 client for Glint's command-line tools (and later
// glint-fs's HTTP fallback). One connection per client object, reused across requests;
// bodies stream from/to callbacks so large images never sit in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "control/http_types.h"

namespace glint::control {

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
  // `base_url` like http://127.0.0.1:9292 (https is not supported by this client yet).
  static Result<std::unique_ptr<HttpClient>> Create(const std::string& base_url);
  virtual ~HttpClient() = default;

  virtual Result<ClientResponse> Request(const std::string& method, const std::string& target,
                                         const HeaderList& headers, const std::string& body) = 0;
  // Sends `length` bytes produced by `source(buf, max) -> bytes` as the body.
  virtual Result<ClientResponse> Upload(const std::string& method, const std::string& target,
                                        const HeaderList& headers, uint64_t length,
                                        const std::function<Result<size_t>(char*, size_t)>& source) = 0;
  // Streams a successful (2xx) response body to `sink`; other bodies come back in `body`.
  virtual Result<ClientResponse> Download(const std::string& target, const HeaderList& headers,
                                          const std::function<Status(const char*, size_t)>& sink) = 0;
};

}  // namespace glint::control
