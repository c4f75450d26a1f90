// ChunkedReader: one image's data read through a ChunkCache. Every read is served from
// whole cached chunks; a missing chunk is fetched from the store in one read of the whole
// chunk (one store round trip per 4 MiB), checked against its digest from the image's
// chunk manifest when there is one, and kept. The store's reader is opened only on the
// first miss, so a fully cached image reads with its store file gone or the store down.
//
// glint-api's image cache (cache/image_cache.h) hands these out for downloads and
// prefetches; any thread, several at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cache/chunk_cache.h"
#include "store/backend.h"

namespace glint::cache {

// Opens the image's data in its store (called on the first miss).
using OpenStore = std::function<Result<std::unique_ptr<store::Reader>>()>;
// Told of every chunk a reader got: its index and whether it came from the store.
using ChunkObserver = std::function<void(int64_t index, bool fetched)>;
// Chunk `index` of an image, from the cache (fetched if missing).
using ChunkSource = std::function<Result<ChunkRef>(int64_t index)>;

// Copies [offset, offset + len) of an image of `size` bytes out of its chunks, each got from
// `chunk`; short at the end of the image. Shared by every reader over the chunk cache
// (ChunkedReader here, glint-fs's CachedReader).
Result<size_t> ReadFromChunks(const std::string& image_id, int64_t size, int64_t chunk_size, int64_t offset,
                              char* buf, size_t len, const ChunkSource& chunk);

class ChunkedReader final : public store::Reader {
 public:
  // `digests`: one SHA-256 (hex) per chunk, or empty to cache unverified.
  ChunkedReader(ChunkCache& cache, std::string image_id, int64_t size, std::vector<std::string> digests,
                OpenStore open_store, ChunkObserver observer = nullptr);

  int64_t size() const override { return size_; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override;
  // Chunk `index` (fetched if missing).
  Result<ChunkRef> Chunk(int64_t index);
  // Whether chunk `index` is on disk in the cache (Chunk then opens it without a fetch,
  // unless it is evicted meanwhile).
  bool Cached(int64_t index) const { return cache_.Contains({image_id_, index}); }
  // Every chunk in order: the whole image into the cache (a prefetch).
  Status FillAll();
  int64_t chunk_size() const { return static_cast<int64_t>(cache_.chunk_size()); }
  int64_t chunk_count() const { return (size_ + chunk_size() - 1) / chunk_size(); }

 private:
  Result<std::vector<char>> FetchChunk(int64_t index);

  ChunkCache& cache_;
  const std::string image_id_;
  const int64_t size_;
  const std::vector<std::string> digests_;
  OpenStore open_store_;
  ChunkObserver observer_;
  std::mutex store_mu_;
  std::shared_ptr<store::Reader> store_;
};

}  // namespace glint::cache
