#include "control/byte_range.h"

#include <limits>
#include <string>

namespace glint::control {
namespace {

constexpr int64_t kHuge = std::numeric_limits<int64_t>::max();

// A decimal number; values beyond 63 bits saturate at kHuge (callers only compare them
// with a size). nullopt unless all of `s` is digits.
std::optional<int64_t> Decimal(std::string_view s) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  int64_t n = 0;
  for (char c : s) {
    int d = c - '0';
    if (n > (kHuge - d) / 10) return kHuge;
    n = n * 10 + d;
  }
  return n;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status Unsatisfiable(std::string_view header, int64_t size) {
  std::string shown(header.substr(0, 200));
  return Status::RangeNotSatisfiable("Requested range " + shown + " not satisfiable for image of " +
                                     std::to_string(size) + " bytes");
}

}  // namespace

Result<std::optional<ByteRange>> ParseByteRange(std::string_view header, int64_t size) {
  if (header.empty()) return std::optional<ByteRange>();
  if (header.find(',') != std::string_view::npos) {
    return Status::InvalidArgument("Multiple ranges are not supported: " + std::string(header.substr(0, 200)));
  }
  std::string_view h = TrimSpaces(header);
  // The unit is case-insensitive.
  if (h.size() < 6 || (h.substr(0, 6) != "bytes=" && h.substr(0, 6) != "Bytes=" && h.substr(0, 6) != "BYTES=")) {
    return Unsatisfiable(header, size);
  }
  std::string_view spec = TrimSpaces(h.substr(6));
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return Unsatisfiable(header, size);
  std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
  ByteRange r;
  if (a.empty()) {  // bytes=-N: the last N bytes
    auto n = Decimal(b);
    if (!n || *n == 0 || size == 0) return Unsatisfiable(header, size);
    r.first = *n >= size ? 0 : size - *n;
    r.last = size - 1;
    return std::optional<ByteRange>(r);
  }
  auto first = Decimal(a);
  if (!first || *first >= size) return Unsatisfiable(header, size);
  r.first = *first;
  if (b.empty()) {
    r.last = size - 1;
  } else {
    auto last = Decimal(b);
    if (!last || *last < *first) return Unsatisfiable(header, size);
    r.last = std::min(*last, size - 1);
  }
  return std::optional<ByteRange>(r);
}

}  // namespace glint::control
