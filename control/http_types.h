// Plain HTTP request/response values passed between the network layer (http_server.cc,
// the only place Beast lives) and the API service. Keeping Beast out of these types lets
// the API be driven without a socket in unit tests.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>


namespace glint::store {
class Reader;
}

namespace glint::control {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;  // "GET", "PUT", ...
  std::string target;  // as received: path and query
  std::string path;    // decoded path, version prefix kept
  std::vector<std::pair<std::string, std::string>> query;  // decoded, in order
  HeaderList headers;  // names lowercased
  std::string body;
  std::string request_id;
  // Who sent it, set once authentication succeeded ("" before, or when not known): for
  // the access log.
  std::string user_id, project_id;
  bool tls = false;
  // The connection's peer address as the socket sees it ("" when not known); see
  // client_address.h for the client behind a trusted proxy.
  std::string peer;

  // First value of a header (name in lowercase), or "".
  std::string_view Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return {};
  }
};

struct HttpResponse {
  // Out of line, where store::Reader is complete: this header needs no store header.
  HttpResponse();
  ~HttpResponse();
  HttpResponse(HttpResponse&&) noexcept;
  HttpResponse& operator=(HttpResponse&&) noexcept;

  int status = 200;
  HeaderList headers;
  std::string body;
  // A streamed body: `length` bytes of `data` from `offset` (downloads).
  std::unique_ptr<store::Reader> data;
  int64_t offset = 0;
  int64_t length = 0;
  // Called once when a streamed body ends, complete or not, with the bytes sent.
  std::function<void(int64_t sent)> on_sent;
  bool close_connection = false;

  void Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// A response with a status and no body (204, 202, 304...).
inline HttpResponse EmptyResponse(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

// Splits a request target into its decoded path and query parameters.
void ParseTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query);
std::string UrlDecode(std::string_view s, bool plus_is_space);
std::string UrlEncode(std::string_view s);

}  // namespace glint::control
