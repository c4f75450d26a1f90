#include "common/chunk_manifest.h"

#include <algorithm>

namespace glint {

std::string ManifestBinding(const ChunkManifest& m) {
  Digest d(Digest::Algorithm::kSha256);
  std::string head = "glint-manifest-v1\n" + m.image_id + "\n" + std::to_string(m.size) + "\n" +
                     m.os_hash_algo + "\n" + m.os_hash_value + "\n" + std::to_string(m.chunk_size) + "\n";
  d.Update(head.data(), head.size());
  for (const auto& c : m.chunks) {
    d.Update(c.data(), c.size());
    d.Update("\n", 1);
  }
  return d.FinishHex();
}

bool ManifestConsistent(const ChunkManifest& m) {
  if (m.chunk_size <= 0 || m.size < 0) return false;
  const int64_t expected = m.size / m.chunk_size + (m.size % m.chunk_size != 0);  // no overflow near INT64_MAX
  return static_cast<int64_t>(m.chunks.size()) == expected && ManifestBinding(m) == m.binding;
}

ChunkManifestBuilder::ChunkManifestBuilder(int64_t chunk_size) : chunk_size_(chunk_size) {}

void ChunkManifestBuilder::Update(const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), chunk_size_ - in_chunk_));
    current_.Update(p, n);
    p += n;
    len -= n;
    in_chunk_ += static_cast<int64_t>(n);
    size_ += static_cast<int64_t>(n);
    if (in_chunk_ == chunk_size_) {
      chunks_.push_back(current_.FinishHex());
      current_ = Digest(Digest::Algorithm::kSha256);
      in_chunk_ = 0;
    }
  }
}

ChunkManifest ChunkManifestBuilder::Finish(const std::string& image_id, const std::string& os_hash_algo,
                                           const std::string& os_hash_value) {
  if (in_chunk_ > 0) {
    chunks_.push_back(current_.FinishHex());
    in_chunk_ = 0;
  }
  ChunkManifest m;
  m.image_id = image_id;
  m.size = size_;
  m.chunk_size = chunk_size_;
  m.os_hash_algo = os_hash_algo;
  m.os_hash_value = os_hash_value;
  m.chunks = std::move(chunks_);
  m.binding = ManifestBinding(m);
  return m;
}

}  // namespace glint
