// BootSetPolicy: the limits of learned boot sets on the API's side, glint-api's
// `[glint] boot_set_*` options (docs/configuration.md): how large a report and a merged
// set may be, how many votes a chunk needs, how often one host may report an image and
// how many reports an image keeps. Read once at start (Config, checked there by
// ValidateBootSetPolicy), then read-only; control/boot_set.h says how each bounds one
// reporter's influence.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace glint::control {

struct BootSetPolicy {
  size_t max_report_chunks = 4096;  // chunk indexes in one report (16 GiB of boot reads)
  size_t max_merged_chunks = 1024;  // chunks in a merged boot set (4 GiB)
  double keep_fraction = 0.25;      // of the reporting principals' votes
  size_t max_host_length = 64;
  int report_interval = 60;          // seconds between two reports of one host and image
  int max_hosts_per_reporter = 64;   // one reporter's hosts (reports) kept per image
  int max_reports_per_image = 256;   // reports kept per image
};

// OK, or InvalidArgument naming the [glint] option that is out of range.
Status ValidateBootSetPolicy(const BootSetPolicy& policy);

}  // namespace glint::control
