#include "fs/cached_reader.h"

#include <algorithm>
#include <utility>

namespace glint::fs {

namespace {

// The store reader: `base` when the caller already opened one, else `open_base` on the first miss.
cache::OpenStore FirstOpen(OpenBase open_base, std::unique_ptr<store::Reader> base) {
  auto held = std::make_shared<std::unique_ptr<store::Reader>>(std::move(base));
  return [open_base = std::move(open_base), held]() -> Result<std::unique_ptr<store::Reader>> {
    if (*held) return std::move(*held);
    return open_base();
  };
}

}  // namespace

CachedReader::CachedReader(ImageEntry image, std::shared_ptr<const ImageManifest> manifest, cache::ChunkCache& cache,
                           OpenBase open_base, std::unique_ptr<store::Reader> base)
    : image_(std::move(image)),
      manifest_(std::move(manifest)),
      chunks_(cache, image_.id, image_.size, manifest_ ? manifest_->chunks : std::vector<std::string>{},
              FirstOpen(std::move(open_base), std::move(base))) {}

Result<cache::ChunkRef> CachedReader::Chunk(int64_t index) {
  if (index < 0 || index >= chunk_count()) return Status::InvalidArgument("chunk index out of range");
  if (recorder_) recorder_->Read(index);
  auto& slot = slots_[static_cast<size_t>(index) % kSlots];
  {
    std::lock_guard<std::mutex> l(slots_mu_);
    if (slot.second && slot.first == index) return slot.second;
  }
  // From chunk i-1 to chunk i: a sequential reader (a probe of the image's header, which
  // reads chunk 0 alone, fetches nothing more).
  // Each chunk is queued once: a queued chunk a prefetch thread takes while it is still in
  // flight would hold that thread waiting for the same fetch.
  if (ahead_ && last_chunk_.exchange(index) + 1 == index && index > 0) {
    const int64_t until = std::min(index + kAheadChunks, chunk_count() - 1);
    int64_t from = ahead_until_.exchange(until);  // a race queues a chunk twice at worst
    if (from > until || from < index) from = index;  // a jump: a new window from here
    for (int64_t next = from + 1; next <= until; ++next) ahead_(next);
  }
  if (auto cached = OpenCached(index)) return cached;
  auto chunk = chunks_.Chunk(index);  // a fetch: concurrent requests share it (single-flight)
  if (chunk.ok() && (*chunk)->fd >= 0) {
    std::lock_guard<std::mutex> l(slots_mu_);
    slot = {index, *chunk};
  }
  return chunk;
}

cache::ChunkRef CachedReader::OpenCached(int64_t index) {
  if (index < 0 || index >= chunk_count() || !chunks_.Cached(index)) return nullptr;
  // On disk: the kernel's read-ahead sends a chunk's four 1 MiB requests at once, on as
  // many threads; the first opens the chunk file and the others find it in the slot
  // (opening a cached chunk takes microseconds, so holding the lock for it is cheap).
  auto& slot = slots_[static_cast<size_t>(index) % kSlots];
  std::lock_guard<std::mutex> l(slots_mu_);
  if (slot.second && slot.first == index) return slot.second;
  auto chunk = chunks_.Chunk(index);
  if (!chunk.ok()) return nullptr;  // gone meanwhile: the caller fetches it
  if ((*chunk)->fd >= 0) slot = {index, *chunk};
  return *chunk;
}

Result<size_t> CachedReader::ReadAt(int64_t offset, char* buf, size_t len) {
  return cache::ReadFromChunks(image_.id, image_.size, chunk_size(), offset, buf, len,
                               [this](int64_t i) { return Chunk(i); });
}

}  // namespace glint::fs
