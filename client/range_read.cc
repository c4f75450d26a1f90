#include <cstring>
#include <optional>

#include "client/http_client.h"

namespace glint::client {
namespace {

constexpr int kAttempts = 4;

struct ContentRange {
  int64_t first = 0, last = 0;
};

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"); nullopt when malformed.
std::optional<ContentRange> ParseContentRange(const std::string& v) {
  if (v.rfind("bytes ", 0) != 0) return std::nullopt;
  size_t dash = v.find('-', 6), slash = v.find('/', 6);
  if (dash == std::string::npos || slash == std::string::npos || dash > slash) return std::nullopt;
  auto number = [](const std::string& s) -> std::optional<int64_t> {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    return std::stoll(s);
  };
  auto first = number(v.substr(6, dash - 6));
  auto last = number(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  return ContentRange{*first, *last};
}

}  // namespace

Result<size_t> ReadRange(HttpClient& client, const std::string& target, const HeaderList& headers,
                         int64_t offset, char* buf, size_t len, int* status_out) {
  size_t got = 0;
  Status last_error;
  for (int attempt = 0; attempt < kAttempts && got < len; ++attempt) {
    const int64_t from = offset + static_cast<int64_t>(got);
    const int64_t to = offset + static_cast<int64_t>(len) - 1;
    HeaderList h = headers;
    h.emplace_back("Range", "bytes=" + std::to_string(from) + "-" + std::to_string(to));
    std::optional<ContentRange> range;
    auto on_head = [&](const ClientResponse& head) -> Status {
      if (head.status == 206) {
        range = ParseContentRange(head.Header("content-range"));
        if (!range || range->first != from || range->last > to) {
          return Status::IOError("range read of " + target + " answered Content-Range '" +
                                 head.Header("content-range") + "' for bytes " + std::to_string(from) + "-" +
                                 std::to_string(to));
        }
      } else if (head.status >= 200 && head.status < 300) {
        return Status::IOError("range read of " + target + " answered HTTP " + std::to_string(head.status) +
                               " instead of 206: refusing bytes that may not be the range asked for");
      }
      return Status::Ok();
    };
    auto sink = [&](const char* data, size_t n) -> Status {
      if (n > len - got) return Status::IOError("range read of " + target + ": more bytes than asked for");
      std::memcpy(buf + got, data, n);
      got += n;
      return Status::Ok();
    };
    const size_t before = got;
    auto r = client.Download(target, h, sink, on_head);
    if (r.ok()) {
      if (status_out) *status_out = r->status;
      if (r->status == 416) return got;  // at or past the end
      if (r->status != 206) return Status::IOError("range read of " + target + " answered HTTP " + std::to_string(r->status));
      if (range && got - before == static_cast<size_t>(range->last - range->first + 1) &&
          range->last < to) {
        return got;  // the resource ends before the range does
      }
      continue;  // short body without an error: ask again for the rest
    }
    // Only a broken connection is worth resuming; a refusal is final.
    if (r.status().code() != Status::Code::kUnavailable) return r.status();
    last_error = r.status();
    if (got > before) attempt = 0;  // progress: the budget is for attempts that get nothing
  }
  if (got == len) return got;
  return last_error.ok() ? Status::IOError("range read of " + target + " kept ending early") : last_error;
}

}  // namespace glint::client
