// BootReport: one host's learned boot set of an image, as glint-fs reports it
// (POST /v2/images/{id}/x-glint-boot-set): the chunk indexes (4 MiB chunks) a freshly
// opened image read in its first seconds. Kept in the catalog, one row per (image,
// reporter, host), and merged by the API into the image's boot set (control/boot_set.h).
// Plain values; the catalog methods that keep them are in catalog.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glint::catalog {

struct BootReport {
  std::string image_id;
  std::string reporter;         // the credential's principal ("user:<id>", "project:<id>", "admin")
  std::string host;             // the reporting host's opaque id (glint-fs: per cache directory)
  std::vector<int64_t> chunks;  // strictly ascending chunk indexes
  int64_t reported_at = 0;      // microseconds
};

// What PutBootReport enforces, in the same transaction as the write.
struct BootReportLimits {
  int64_t min_interval = 0;         // microseconds between two reports of one (reporter, host)
  int max_hosts_per_reporter = 64;  // one reporter's rows per image; its oldest go first
  int max_reports_per_image = 256;  // rows per image; the oldest go first
};

}  // namespace glint::catalog
