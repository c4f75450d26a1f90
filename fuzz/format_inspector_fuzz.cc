// The format inspector on fuzzed image headers, fed in fuzzed chunk sizes. Invariants: the
// answer does not depend on the chunking (one Feed gives the same findings), the data
// size is what was fed, every virtual size is non-negative, and a verdict never accepts
// data with a problem found.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "format/inspector.h"
#include "format/verdict.h"
#include "fuzz/fuzz_support.h"

namespace {

std::string Describe(const glint::format::Report& r) {
  std::string out = std::to_string(r.data_size);
  for (const auto& f : r.findings) {
    out += "|" + f.format + "/" + f.subformat + "/" + (f.virtual_size ? std::to_string(*f.virtual_size) : "-");
    for (const auto& p : f.problems) out += "/" + p;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const size_t chunk = in.ConsumeIntegralInRange<size_t>(1, 70000);
  const std::string image = in.ConsumeRemainingBytesAsString();
  glint::format::Inspector whole, chunked;
  whole.Feed(image.data(), image.size());
  for (size_t off = 0; off < image.size(); off += chunk) {
    chunked.Feed(image.data() + off, std::min(chunk, image.size() - off));
  }
  const auto report = whole.Finish();
  FUZZ_CHECK(Describe(report) == Describe(chunked.Finish()));
  FUZZ_CHECK(report.data_size == static_cast<int64_t>(image.size()));
  bool problems = false;
  for (const auto& f : report.findings) {
    FUZZ_CHECK(!f.virtual_size || *f.virtual_size >= 0);
    problems = problems || !f.problems.empty();
  }
  for (const char* disk_format : {"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso", "ami"}) {
    auto v = glint::format::Judge(report, {}, {disk_format, "bare"});
    if (problems) FUZZ_CHECK(!v.ok());
    if (v.ok()) FUZZ_CHECK(!v->virtual_size || *v->virtual_size >= 0);
  }
  return 0;
}
