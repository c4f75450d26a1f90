// Verdict: whether image data, as the Inspector found it, may become (or stay) the data
// of an image declared with `disk_format` and `container_format`, under the site's
// [image_format] policy. Pure: no I/O. Called by every data path of control/.
//
// Refused, whatever the policy: data matching several formats at once; any problem a
// probe found (a backing or external data file, a parent, external extents, impossible
// sizes or offsets, truncated headers). Refused by policy: a vmdk createType outside
// `vmdk_allowed_types`, and with `require_image_format_match` (default) data whose format
// is not the declared one. gpt and mbr are raw. Formats no probe knows (ami, ari, aki,
// ploop, and any other configured one) must be plain raw data. Non-bare containers (ova,
// ovf, docker, compressed) are archives: only the safety refusals apply, as Glance
// inspects only bare containers. Empty data (0 bytes) is accepted under any disk_format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "format/inspector.h"

namespace glint::format {

struct Policy {
  std::vector<std::string> vmdk_allowed_types = {"streamOptimized", "monolithicSparse"};
  bool require_image_format_match = true;
};

struct Declared {
  std::optional<std::string> disk_format;  // nullopt: not known to the caller
  std::optional<std::string> container_format;
};

struct Verdict {
  std::string detected;                 // raw, gpt, mbr, qcow2, vmdk, ...; "empty" for 0 bytes
  std::optional<int64_t> virtual_size;  // when the format says it
  std::string Summary() const;          // what docs/api-differences.md calls os_glint_format_check
};

// InvalidArgument with a message saying what was found, when refused.
Result<Verdict> Judge(const Report& report, const Policy& policy, const Declared& declared);

}  // namespace glint::format
