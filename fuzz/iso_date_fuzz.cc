// ISO 8601 dates (list filters, Keystone's expires_at, Glance rows on adoption): whatever
// ParseIso accepts, FormatIsoSeconds renders, and that parses back to the same second.
// Any 64-bit timestamp must render without undefined behaviour.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/ids.h"
#include "fuzz/fuzz_support.h"

namespace {

// Whole seconds, rounded down (towards the past for dates before 1970).
int64_t FloorToSecond(int64_t micros) {
  int64_t r = micros % 1000000;
  return r < 0 ? micros - r - 1000000 : micros - r;
}

// A rendered date in 4-digit years parses back to its second.
void CheckRoundTrip(int64_t micros) {
  std::string shown = glint::FormatIsoSeconds(micros);
  if (shown.size() != 20) return;  // a year beyond 0..9999 has no ISO 8601 basic form
  auto again = glint::ParseIso(shown);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == FloorToSecond(micros));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  int64_t raw = in.ConsumeIntegral<int64_t>();
  (void)glint::FormatIsoSeconds(raw);
  std::string text = in.ConsumeRemainingBytesAsString();
  auto parsed = glint::ParseIso(text);
  if (parsed) CheckRoundTrip(*parsed);
  return 0;
}
