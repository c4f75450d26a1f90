// A boot set report as POST /v2/images/{id}/x-glint-boot-set receives it from any reader of
// the image (control/boot_set.h): the body parsed with the JSON limits, then checked
// against the image's chunk count, then merged with other reports. The first two bytes
// choose the image's chunk count (1 to 65,536), the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "control/boot_set.h"
#include "control/json_body.h"
#include "fuzz/fuzz_support.h"

namespace {

bool StrictlyAscendingBelow(const std::vector<int64_t>& chunks, int64_t count) {
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (chunks[i] < 0 || chunks[i] >= count) return false;
    if (i && chunks[i] <= chunks[i - 1]) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int64_t chunk_count = 1 + (int64_t{data[0]} << 8 | data[1]);
  std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);
  auto parsed = glint::control::ParseJsonBody(body);
  if (!parsed.ok()) return 0;
  glint::control::BootSetPolicy policy;
  policy.max_report_chunks = 512;
  policy.max_merged_chunks = 64;
  auto report = glint::control::ParseBootReport(*parsed, 4 << 20, chunk_count, policy);
  if (!report.ok()) return 0;
  FUZZ_CHECK(!report->host.empty() && report->host.size() <= policy.max_host_length);
  FUZZ_CHECK(report->chunks.size() <= policy.max_report_chunks);
  FUZZ_CHECK(StrictlyAscendingBelow(report->chunks, chunk_count));
  // The same report from three principals, one of them on two hosts, and one naming
  // chunks beyond a smaller image (an image's chunk count is what the merge trusts).
  std::vector<glint::catalog::BootReport> reports(4, *report);
  reports[0].reporter = "user:a";
  reports[1].reporter = "user:b";
  reports[2].reporter = "user:b";
  reports[2].host += "-2";
  reports[3].reporter = "project:c";
  for (auto& c : reports[3].chunks) c = c * 2 + 1;
  for (int64_t count : {chunk_count, chunk_count / 2}) {
    auto merged = glint::control::MergeBootReports(reports, count, policy);
    FUZZ_CHECK(merged.reports == reports.size());
    FUZZ_CHECK(merged.reporters == 3);
    FUZZ_CHECK(merged.chunks.size() <= policy.max_merged_chunks);
    FUZZ_CHECK(StrictlyAscendingBelow(merged.chunks, count));
  }
  return 0;
}
