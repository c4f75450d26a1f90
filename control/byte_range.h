// A Range request header on image data (RFC 9110, section 14): one range of bytes, in any
// of its three forms. Multiple ranges are refused with 400 as Glance refuses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/status.h"

namespace glint::control {

struct ByteRange {
  int64_t first = 0;
  int64_t last = 0;  // inclusive
  int64_t length() const { return last - first + 1; }
};

// For a resource of `size` bytes: nullopt when there is no Range header (the whole
// resource); RangeNotSatisfiable (416) when the range is malformed or starts at or past the
// end; InvalidArgument (400) for several ranges. Numbers of any length are read exactly:
// a last-byte position past the end (even beyond 64 bits) means "to the end"; a first-byte
// position beyond 64 bits is past the end; a suffix longer than the resource is all of it.
Result<std::optional<ByteRange>> ParseByteRange(std::string_view header, int64_t size);

}  // namespace glint::control
