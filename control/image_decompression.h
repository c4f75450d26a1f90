// ImageDecompression: Glance's `image_decompression` import plugin. Staged data that
// starts with one of Glance's magic numbers (zip "PK\3\4" at offset 0, lha "-lh" at 2, gzip
// 1f 8b 08 at 0) is decompressed into the import's scratch area before the rest of the
// import (conversion, format inspection, the copy into the store) sees it; an image whose
// container_format is `compressed` is left as it is, and disk_format and container_format
// are never changed, as in Glance. A zip or lha archive must hold exactly one member.
//
// The decompressor (`gzip -dc`; `bsdtar -xOf` for zip and lha) runs through RunChild under
// CPU-time, memory and wall-clock limits, its stdout a file bounded by RLIMIT_FSIZE (the
// caller's cap, lowered to the scratch area's free space less a reserve), so a
// decompression bomb ends the child instead of filling the disk.
//
// Called on a worker-pool thread by ImportJobs (and DetectCompression by the stage
// upload); no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace glint::control {

enum class Compression { kNone, kZip, kLha, kGzip };

// Which compression `head` (the data's first bytes; 5 suffice) announces.
Compression DetectCompression(std::string_view head);
const char* CompressionName(Compression c);

struct DecompressionConfig {
  std::string gzip = "gzip";      // [image_decompression] gzip_path (Glint)
  std::string bsdtar = "bsdtar";  // [image_decompression] bsdtar_path (Glint)
  int cpu_time = 600;             // [image_decompression] cpu_time_limit, seconds (Glint)
  int64_t memory_mib = 1024;      // [image_decompression] memory_limit_mib (Glint)
  int wall_time = 3600;           // [image_decompression] wall_time_limit, seconds (Glint)
};

// The bytes decompressed data may take in the directory of `dest`: `cap`, lowered to the
// file system's free space less a reserve (2% of its size, at most 1 GiB).
int64_t DecompressionCap(const std::string& dest, int64_t cap);

// Decompresses `src` into `dest` (at most `cap` bytes) when it is compressed; kNone (and
// nothing written) when it is not. InvalidArgument for an archive that does not hold
// exactly one file (the data can never be imported); TooLarge when the output passes
// `cap`; Internal when the decompressor fails or passes another limit. `dest` is removed
// on any error.
Result<Compression> DecompressStaged(const DecompressionConfig& config, const std::string& src,
                                     const std::string& dest, int64_t cap);

}  // namespace glint::control
