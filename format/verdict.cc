#include "format/verdict.h"

#include <algorithm>

#include "format/probes.h"

namespace glint::format {
namespace {

bool Inspected(const std::string& disk_format) {
  static const std::vector<std::string> kKnown = {"raw", "qcow2", "vmdk", "vhd", "vhdx", "vdi", "iso"};
  return std::find(kKnown.begin(), kKnown.end(), disk_format) != kKnown.end();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

Status Refuse(const std::string& why) { return Status::InvalidArgument("Image format check failed: " + why); }

}  // namespace

std::string Verdict::Summary() const { return "passed: " + detected; }

Result<Verdict> Judge(const Report& report, const Policy& policy, const Declared& declared) {
  if (report.data_size == 0) {
    // No bytes, no format to hide anything in: clients (glanceclient reading an empty
    // stdin) upload empty data under any disk_format, and Glance accepts it.
    Verdict empty;
    empty.detected = "empty";
    if (declared.disk_format == std::optional<std::string>("raw")) empty.virtual_size = 0;
    return empty;
  }
  std::vector<const Finding*> formats;  // not counting partition tables
  const Finding* table = nullptr;
  for (const auto& f : report.findings) {
    if (!f.problems.empty()) return Refuse(f.problems.front());
    if (f.raw_variant()) {
      table = &f;
    } else {
      formats.push_back(&f);
    }
  }
  if (formats.size() > 1) {
    std::vector<std::string> names;
    for (const auto* f : formats) names.push_back(f->format);
    return Refuse("the data matches several formats at once (" + Join(names) + ")");
  }
  Verdict v;
  const Finding* found = formats.empty() ? table : formats.front();
  v.detected = found ? found->format : "raw";
  v.virtual_size = found ? found->virtual_size : std::optional<int64_t>(report.data_size);
  if (v.detected == "vmdk") {
    const auto& allowed = policy.vmdk_allowed_types;
    if (std::find(allowed.begin(), allowed.end(), found->subformat) == allowed.end()) {
      return Refuse("vmdk create type " + Quote(found->subformat, 40) + " is not allowed (vmdk_allowed_types: " +
                    (allowed.empty() ? "none" : Join(allowed)) + ")");
    }
  }
  const std::string as_raw = (v.detected == "gpt" || v.detected == "mbr") ? "raw" : v.detected;
  const bool bare = !declared.container_format || *declared.container_format == "bare" ||
                    *declared.container_format == "ami" || *declared.container_format == "ari" ||
                    *declared.container_format == "aki";
  if (!bare || !declared.disk_format || !policy.require_image_format_match) return v;
  const std::string& disk_format = *declared.disk_format;
  if (!Inspected(disk_format)) {
    if (as_raw != "raw") {
      return Refuse("the data is a " + v.detected + " image, but disk_format " + disk_format + " must be raw data");
    }
    v.virtual_size.reset();  // Glance computes none for formats it does not inspect
    return v;
  }
  if (as_raw != disk_format) {
    return Refuse("the data is a " + v.detected + " image, but disk_format is " + disk_format);
  }
  return v;
}

}  // namespace glint::format
