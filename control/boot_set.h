// Learned boot sets, the API's side: what a host's report may hold (ParseBootReport) and
// how the reports of many hosts become one image's boot set (MergeBootReports). Pure
// functions, called by BootSetHandler on worker threads.
//
// Any credential that may download an image may report its boot set (hypervisors read
// with a reader's credential), so one reporter's influence is bounded: a report names
// at most max_report_chunks chunks, each below the image's chunk count; a principal
// (user, else project) keeps one row per host, at most max_hosts_per_reporter hosts per
// image (the catalog enforces that, max_reports_per_image and one report per host per
// report_interval); and in the merge every principal
// has one vote per chunk, split evenly among its hosts' reports. A chunk enters the boot
// set when its votes reach keep_fraction of the principals that reported; the set keeps
// the max_merged_chunks best-voted chunks. The worst a hostile reader can do is make
// hosts prefetch up to that many chunks they do not need (each still verified against
// the manifest); it can never change what a read returns.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "catalog/boot_report.h"
#include "common/status.h"
#include "control/boot_set_policy.h"

namespace glint::control {

// The report in a POST body {"host": "<id>", "chunk_size": 4194304, "chunks": [0, 5, ...]}
// (chunks strictly ascending, each < chunk_count). InvalidArgument says what is wrong.
// Fills host and chunks; the caller sets image, reporter and time.
Result<catalog::BootReport> ParseBootReport(const nlohmann::json& body, int64_t chunk_size, int64_t chunk_count,
                                            const BootSetPolicy& policy);

// Who a report counts for: "user:<id>", else "project:<id>", else "admin" (the
// bootstrap token).
std::string BootReporter(const auth::RequestContext& ctx);

struct MergedBootSet {
  std::vector<int64_t> chunks;  // ascending
  size_t reports = 0;           // reports merged
  size_t reporters = 0;         // distinct principals among them
};

// The image's boot set from every report (indexes at or beyond chunk_count ignored).
MergedBootSet MergeBootReports(const std::vector<catalog::BootReport>& reports, int64_t chunk_count,
                               const BootSetPolicy& policy);

}  // namespace glint::control
