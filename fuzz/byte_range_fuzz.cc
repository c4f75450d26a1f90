// A Range header against an image of fuzzed size. Whatever the header, a range that comes
// back must lie inside the image: first <= last < size.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "control/byte_range.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  // Small sizes are where off-by-one errors live; big ones where overflow does.
  int64_t image_size = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 4096)
                                        : in.ConsumeIntegralInRange<int64_t>(0, std::numeric_limits<int64_t>::max());
  std::string header = in.ConsumeRemainingBytesAsString();
  auto range = glint::control::ParseByteRange(header, image_size);
  if (!range.ok()) return 0;
  if (header.empty()) FUZZ_CHECK(!range->has_value());
  if (!range->has_value()) return 0;
  const glint::control::ByteRange& r = **range;
  FUZZ_CHECK(r.first >= 0);
  FUZZ_CHECK(r.first <= r.last);
  FUZZ_CHECK(r.last < image_size);
  FUZZ_CHECK(r.length() >= 1 && r.length() <= image_size);
  return 0;
}
