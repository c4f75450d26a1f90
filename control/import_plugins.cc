#include "control/import_plugins.h"

#include <unistd.h>

#include <algorithm>

#include "common/child_process.h"
#include "control/format_check.h"

namespace glint::control {

bool ImportPluginsConfig::Enabled(const std::string& name) const {
  return std::find(plugins.begin(), plugins.end(), name) != plugins.end();
}

Status ValidateImportPlugins(const ImportPluginsConfig& c) {
  for (const auto& p : c.plugins) {
    if (p != "image_conversion" && p != "image_decompression" && p != "inject_image_metadata" && p != "no_op") {
      return Status::InvalidArgument("image_import_plugins: unknown or unsupported plugin '" + p + "'");
    }
  }
  const auto& out = c.conversion.output_format;
  if (out != "raw" && out != "qcow2" && out != "vmdk") {
    return Status::InvalidArgument("image_conversion.output_format must be raw, qcow2 or vmdk, not '" + out + "'");
  }
  if (c.conversion.cpu_time < 0 || c.conversion.memory_mib < 0 || c.conversion.wall_time < 0) {
    return Status::InvalidArgument("image_conversion limits must not be negative");
  }
  const auto& d = c.decompression;
  if (d.cpu_time < 0 || d.memory_mib < 0 || d.wall_time < 0 || d.gzip.empty() || d.bsdtar.empty()) {
    return Status::InvalidArgument("image_decompression limits must not be negative, nor its tools unnamed");
  }
  return Status::Ok();
}

std::map<std::string, std::string> InjectedProperties(const ImportPluginsConfig& c,
                                                      const std::vector<std::string>& roles) {
  if (!c.Enabled("inject_image_metadata")) return {};
  for (const auto& r : roles) {
    const auto& ignore = c.inject_ignore_user_roles;
    if (std::find(ignore.begin(), ignore.end(), r) != ignore.end()) return {};
  }
  return c.inject;
}

std::optional<std::string> QemuFormatOf(const std::string& detected) {
  if (detected == "raw" || detected == "gpt" || detected == "mbr") return "raw";
  if (detected == "qcow2" || detected == "vmdk" || detected == "vdi" || detected == "vhdx") return detected;
  if (detected == "vhd") return "vpc";
  return std::nullopt;
}

Result<Conversion> ConvertStaged(const ConversionConfig& config, const format::Policy& policy,
                                 const format::Declared& declared, store::Reader& reader,
                                 const std::string& staged_path, const std::string& dest_path) {
  // The inspector sees the data first: backing files, external data files and unsafe
  // vmdk types are refused here, so qemu-img never opens anything but this one file.
  auto verdict = InspectStored(reader, policy, declared);
  if (!verdict.ok()) return verdict.status();
  auto source = QemuFormatOf(verdict->detected);
  if (!source) {
    return Status::InvalidArgument("Image conversion failed: cannot convert from format " + verdict->detected);
  }
  if (*source == config.output_format) return Conversion{false, config.output_format};
  ::unlink(dest_path.c_str());
  ChildLimits limits;
  limits.cpu_seconds = static_cast<uint64_t>(config.cpu_time);
  limits.address_space = static_cast<uint64_t>(config.memory_mib) << 20;
  limits.wall_time = std::chrono::seconds(config.wall_time);
  // -f names the source format (no probing); the inspector refused backing files, and
  // qemu-img's convert does not open a backing chain of a source without one.
  auto run = RunChild({config.qemu_img, "convert", "-q", "-f", *source, "-O", config.output_format,
                       staged_path, dest_path},
                      limits);
  if (!run.ok()) return Status::Internal("Image conversion failed: " + run.status().message());
  if (!run->Succeeded()) {
    ::unlink(dest_path.c_str());
    std::string why = run->Describe();
    std::string said = run->LastErrLine();
    std::string bounds = " (limits: CPU time " + std::to_string(config.cpu_time) + " s, memory " +
                         std::to_string(config.memory_mib) + " MiB, wall time " + std::to_string(config.wall_time) + " s)";
    return Status::Internal("Image conversion failed: qemu-img " + why + (said.empty() ? "" : ": " + said) + bounds);
  }
  return Conversion{true, config.output_format};
}

}  // namespace glint::control
