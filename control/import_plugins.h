// Import plugins: what Glance's `[image_import_opts] image_import_plugins` runs on staged
// data before an interoperable import (glance-direct, and web-download when a plugin needs
// the data staged) copies it into its store.
//
// - image_decompression (image_decompression.h): zip, lha or gzip data is decompressed into
//   the scratch area first; everything after it sees the decompressed data.
// - image_conversion: the staged data is inspected (format/), then `qemu-img convert -f
//   <detected> -O <output_format>` runs through common/RunChild with CPU-time, memory and
//   wall-clock limits into the scratch area; the import then stores the converted data,
//   whose facts (disk_format, size, hashes, virtual_size) replace the staged data's.
// - inject_image_metadata: `[inject_metadata_properties] inject` set on the image unless
//   the importing user has one of `ignore_user_roles`.
//
// Called on a worker-pool thread by ImportJobs; no shared state.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "control/image_decompression.h"
#include "format/verdict.h"
#include "store/backend.h"

namespace glint::control {

struct ConversionConfig {
  std::string output_format = "raw";   // [image_conversion] output_format: raw, qcow2, vmdk
  std::string qemu_img = "qemu-img";   // [image_conversion] qemu_img_path (Glint)
  int cpu_time = 600;                  // [image_conversion] cpu_time_limit, seconds (Glint)
  int64_t memory_mib = 2048;           // [image_conversion] memory_limit_mib, RLIMIT_AS (Glint)
  int wall_time = 3600;                // [image_conversion] wall_time_limit, seconds (Glint)
};

struct ImportPluginsConfig {
  std::vector<std::string> plugins;    // [image_import_opts] image_import_plugins
  ConversionConfig conversion;
  DecompressionConfig decompression;
  std::vector<std::string> inject_ignore_user_roles = {"admin"};
  std::map<std::string, std::string> inject;  // [inject_metadata_properties] inject
  bool Enabled(const std::string& name) const;
};

// Checks names and values (an unknown plugin, an output_format outside Glance's choices,
// negative limits).
Status ValidateImportPlugins(const ImportPluginsConfig& config);

// The properties inject_image_metadata adds for a user with `roles` (empty when the plugin
// is off, or the user has an ignored role).
std::map<std::string, std::string> InjectedProperties(const ImportPluginsConfig& config,
                                                      const std::vector<std::string>& roles);

// The qemu-img format name of a format the inspector detected; nullopt when qemu-img
// cannot (or must not) read it as such (iso, luks, empty data).
std::optional<std::string> QemuFormatOf(const std::string& detected);

struct Conversion {
  bool converted = false;   // false: the data already is in output_format
  std::string disk_format;  // the format of the data the import will store
};

// Inspects `staged` (through `reader`, the staged data) and converts it to `dest_path`.
// InvalidArgument when the inspector refuses the data (the caller refuses the import);
// any other error when qemu-img fails or exceeds a limit (dest_path is then removed).
Result<Conversion> ConvertStaged(const ConversionConfig& config, const format::Policy& policy,
                                 const format::Declared& declared, store::Reader& reader,
                                 const std::string& staged_path, const std::string& dest_path);

}  // namespace glint::control
