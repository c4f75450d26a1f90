// CachedReader: one open image read through the host's ChunkCache: cache::ChunkedReader
// (the reader glint-api's image cache uses too: whole chunks, one store round trip per
// 4 MiB, checked against the manifest when there is one, the data source opened only on a
// miss, so a fully cached image reads with the store down) plus what glint-fs adds: the
// learned boot set, read-ahead of a sequential reader's misses, chunks kept open per reader.
//
// Used by the FUSE read op on libfuse worker threads (several at once per open file) and
// by the pinning thread; thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "fs/boot_prefetch.h"
#include "cache/chunk_cache.h"
#include "cache/chunked_reader.h"
#include "fs/image_manifest.h"
#include "fs/image_view.h"
#include "store/backend.h"

namespace glint::fs {

using OpenBase = std::function<Result<std::unique_ptr<store::Reader>>()>;

class CachedReader final : public store::Reader {
 public:
  // `manifest` null: chunks are cached unverified. `base` may be null (opened on the
  // first miss with `open_base`).
  CachedReader(ImageEntry image, std::shared_ptr<const ImageManifest> manifest, cache::ChunkCache& cache,
               OpenBase open_base, std::unique_ptr<store::Reader> base);

  int64_t size() const override { return image_.size; }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override;
  // Called once for each chunk entering the window of the kAheadChunks chunks after a
  // sequential reader's current one, so its misses overlap (queued on the prefetch pool;
  // chunks cached or in flight are not fetched again). A jump starts a new window.
  void SetAhead(std::function<void(int64_t)> ahead) { ahead_ = std::move(ahead); }
  static constexpr int64_t kAheadChunks = 4;
  // Every chunk this reader is asked for goes to `recorder` (the learned boot set).
  void SetRecorder(std::shared_ptr<BootRecorder> recorder) { recorder_ = std::move(recorder); }
  // Chunk `index` of the image (fetched if missing). The last few chunks this reader used
  // are kept open, so the kernel's further requests into a chunk (a 4 MiB chunk takes four
  // 1 MiB requests) cost no lookup, lock or open() in the cache.
  Result<cache::ChunkRef> Chunk(int64_t index);
  // Chunk `index` if it is on disk in the cache (kept open in this reader's slots), else
  // null; never fetches, records or reads ahead.
  cache::ChunkRef OpenCached(int64_t index);
  int64_t chunk_size() const { return chunks_.chunk_size(); }
  int64_t chunk_count() const { return chunks_.chunk_count(); }
  bool verified() const { return manifest_ != nullptr; }
  const std::string& image_id() const { return image_.id; }

 private:
  const ImageEntry image_;
  const std::shared_ptr<const ImageManifest> manifest_;
  cache::ChunkedReader chunks_;
  std::shared_ptr<BootRecorder> recorder_;
  std::function<void(int64_t)> ahead_;
  std::atomic<int64_t> last_chunk_{-1};
  std::atomic<int64_t> ahead_until_{-1};  // the last chunk queued for read-ahead
  static constexpr size_t kSlots = 8;  // chunks kept open per reader (index % kSlots)
  std::mutex slots_mu_;
  std::array<std::pair<int64_t, cache::ChunkRef>, kSlots> slots_;
};

}  // namespace glint::fs
