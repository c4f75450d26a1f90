// The access log: one line per request in the service log, written by the network layer
// (http_session.cc) when the response is complete (a download: when its last byte is
// sent, or when the connection is lost). A fixed format operators can grep and parse:
//
//   access req-<uuid> user=<id> project=<id> "GET /v2/images?limit=2" 200 1234 3.2ms
//
// user and project are "-" when the request was not authenticated; the status is "-" when
// no response could be sent; the size counts response body bytes handed to the socket.
// The method and target come from the client, so any byte outside printable ASCII, a
// quote or a backslash is rendered as \xHH and the target is cut at kMaxAccessTarget bytes.
//
// Pure functions; callable from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace glint::control {

inline constexpr size_t kMaxAccessTarget = 512;

struct AccessRecord {
  std::string_view request_id;
  std::string_view user_id;     // "" = not authenticated
  std::string_view project_id;  // "" = not authenticated or unscoped
  std::string_view method;
  std::string_view target;      // path and query as received
  int status = 0;               // 0 = no response was sent
  uint64_t bytes_sent = 0;
  double duration_ms = 0;
};

std::string FormatAccessLine(const AccessRecord& record);

}  // namespace glint::control
