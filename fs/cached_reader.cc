#include "fs/cached_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace glint::fs {

CachedReader::CachedReader(ImageEntry image, std::shared_ptr<const ImageManifest> manifest, cache::ChunkCache& cache,
                           OpenBase open_base, std::unique_ptr<store::Reader> base)
    : image_(std::move(image)),
      manifest_(std::move(manifest)),
      cache_(cache),
      open_base_(std::move(open_base)),
      base_(std::move(base)) {}

Result<std::vector<char>> CachedReader::FetchChunk(int64_t index) {
  std::shared_ptr<store::Reader> base;
  {
    std::lock_guard<std::mutex> l(base_mu_);
    if (!base_) {
      auto opened = open_base_();
      if (!opened.ok()) return opened.status();
      base_ = std::move(opened).value();
    }
    base = base_;
  }
  const int64_t start = index * chunk_size();
  const size_t len = static_cast<size_t>(std::min(chunk_size(), image_.size - start));
  std::vector<char> data(len);
  size_t got = 0;
  while (got < len) {
    auto n = base->ReadAt(start + static_cast<int64_t>(got), data.data() + got, len - got);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return Status::IOError("store data of " + image_.id + " ends at " + std::to_string(start + got) +
                             ", the image has " + std::to_string(image_.size) + " bytes");
    }
    got += *n;
  }
  return data;
}

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
  if (ahead_ && last_chunk_.exchange(index) + 1 == index && index > 0) {
    for (int64_t next = index + 1; next <= index + kAheadChunks && next < chunk_count(); ++next) ahead_(next);
  }
  std::string expected = manifest_ ? manifest_->chunks[static_cast<size_t>(index)] : "";
  auto chunk = cache_.Get({image_.id, index}, expected, [this, index] { return FetchChunk(index); });
  if (chunk.ok() && (*chunk)->fd >= 0) {
    std::lock_guard<std::mutex> l(slots_mu_);
    slot = {index, *chunk};
  }
  return chunk;
}

Result<size_t> CachedReader::ReadAt(int64_t offset, char* buf, size_t len) {
  if (offset >= image_.size || len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), image_.size - offset));
  size_t got = 0;
  while (got < len) {
    const int64_t at = offset + static_cast<int64_t>(got);
    const int64_t index = at / chunk_size();
    auto chunk = Chunk(index);
    if (!chunk.ok()) return chunk.status();
    const size_t in = static_cast<size_t>(at - index * chunk_size());
    if (in >= (*chunk)->size) return Status::IOError("chunk " + std::to_string(index) + " of " + image_.id + " is short");
    const size_t n = std::min(len - got, (*chunk)->size - in);
    if ((*chunk)->fd < 0) {
      std::memcpy(buf + got, (*chunk)->bytes.data() + in, n);
    } else {
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pread((*chunk)->fd, buf + got + done, n - done, static_cast<off_t>(in + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return Status::IOError("cache file of chunk " + std::to_string(index) + " is short");
        done += static_cast<size_t>(r);
      }
    }
    got += n;
  }
  return got;
}

}  // namespace glint::fs
