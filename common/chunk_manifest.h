// ChunkManifest: a SHA-256 digest per fixed 4 MiB chunk of an image's data, bound to the
// image (id, size, os_hash_algo/os_hash_value) by one more SHA-256, the binding. A reader
// that fetches chunks independently (glint-fs's host cache) checks each chunk against its
// digest, and the manifest as a whole against the image's facts, so a manifest cannot be
// swapped under an image.
//
// Why 4 MiB: a cache miss costs one store round trip per chunk, so chunks are large enough
// to amortise a 1-2 ms round trip and to match RBD's default object size, yet small enough
// that a boot's scattered reads do not fetch much more than they need. Why SHA-256: it is
// collision resistant (md5 is not) and with the CPU's SHA extensions hashes ~2 GB/s per
// core, faster than the md5 Glance requires anyway, so it never is the upload bottleneck.
//
// ChunkManifestBuilder is fed the data in order, in buffers of any size, from one thread
// at a time (the upload pipeline gives it a serial queue of its own).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/digest.h"

namespace glint {

inline constexpr int64_t kManifestChunkSize = int64_t{4} << 20;
inline constexpr const char* kManifestAlgorithm = "sha256";

struct ChunkManifest {
  std::string image_id;
  int64_t size = 0;
  int64_t chunk_size = kManifestChunkSize;
  std::string algorithm = kManifestAlgorithm;
  std::string os_hash_algo;
  std::string os_hash_value;
  std::vector<std::string> chunks;  // lowercase hex SHA-256 of each chunk, in order
  std::string binding;              // lowercase hex, see ManifestBinding
};

// SHA-256 over the text
//   "glint-manifest-v1\n" image_id "\n" size "\n" os_hash_algo "\n" os_hash_value "\n"
//   chunk_size "\n" then each chunk digest (hex) followed by "\n"
// (numbers in decimal). docs/api-differences.md documents it for clients.
std::string ManifestBinding(const ChunkManifest& manifest);

// True when the chunk count fits size/chunk_size and the binding matches the rest.
bool ManifestConsistent(const ChunkManifest& manifest);

class ChunkManifestBuilder {
 public:
  explicit ChunkManifestBuilder(int64_t chunk_size = kManifestChunkSize);
  void Update(const void* data, size_t len);
  int64_t size() const { return size_; }
  // Ends the last (short) chunk and binds the manifest to the image's facts. An empty
  // image has no chunks. The builder must not be used afterwards.
  ChunkManifest Finish(const std::string& image_id, const std::string& os_hash_algo,
                       const std::string& os_hash_value);

 private:
  int64_t chunk_size_;
  int64_t size_ = 0;
  int64_t in_chunk_ = 0;  // bytes of the current chunk hashed so far
  Digest current_{Digest::Algorithm::kSha256};
  std::vector<std::string> chunks_;
};

}  // namespace glint
