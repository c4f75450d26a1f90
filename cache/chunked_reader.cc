#include "cache/chunked_reader.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace glint::cache {

ChunkedReader::ChunkedReader(ChunkCache& cache, std::string image_id, int64_t size, std::vector<std::string> digests,
                             OpenStore open_store, ChunkObserver observer)
    : cache_(cache),
      image_id_(std::move(image_id)),
      size_(size),
      digests_(std::move(digests)),
      open_store_(std::move(open_store)),
      observer_(std::move(observer)) {}

Result<std::vector<char>> ChunkedReader::FetchChunk(int64_t index) {
  std::shared_ptr<store::Reader> base;
  {
    std::lock_guard<std::mutex> l(store_mu_);
    if (!store_) {
      auto opened = open_store_();
      if (!opened.ok()) return opened.status();
      store_ = std::move(opened).value();
    }
    base = store_;
  }
  const int64_t start = index * chunk_size();
  const size_t len = static_cast<size_t>(std::min(chunk_size(), size_ - start));
  std::vector<char> data(len);
  size_t got = 0;
  while (got < len) {
    auto n = base->ReadAt(start + static_cast<int64_t>(got), data.data() + got, len - got);
    if (!n.ok()) return n.status();
    if (*n == 0) {
      return Status::IOError("store data of " + image_id_ + " ends at " + std::to_string(start + got) +
                             ", the image has " + std::to_string(size_) + " bytes");
    }
    got += *n;
  }
  return data;
}

Result<ChunkRef> ChunkedReader::Chunk(int64_t index) {
  if (index < 0 || index >= chunk_count()) return Status::InvalidArgument("chunk index out of range");
  if (!digests_.empty() && digests_.size() != static_cast<size_t>(chunk_count())) {
    return Status::Corruption("the manifest of " + image_id_ + " does not have one digest per chunk");
  }
  std::string expected = digests_.empty() ? "" : digests_[static_cast<size_t>(index)];
  bool fetched = false;
  auto chunk = cache_.Get({image_id_, index}, expected, [this, index, &fetched] {
    fetched = true;
    return FetchChunk(index);
  });
  if (chunk.ok() && observer_) observer_(index, fetched);
  return chunk;
}

Status ChunkedReader::FillAll() {
  for (int64_t i = 0; i < chunk_count(); ++i) {
    auto chunk = Chunk(i);
    if (!chunk.ok()) return chunk.status();
  }
  return Status::Ok();
}

Result<size_t> ReadFromChunks(const std::string& image_id, int64_t size, int64_t chunk_size, int64_t offset,
                              char* buf, size_t len, const ChunkSource& chunk_of) {
  if (offset < 0) return Status::InvalidArgument("negative offset");
  if (offset >= size || len == 0) return size_t{0};
  len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), size - offset));
  size_t got = 0;
  while (got < len) {
    const int64_t at = offset + static_cast<int64_t>(got);
    const int64_t index = at / chunk_size;
    auto chunk = chunk_of(index);
    if (!chunk.ok()) return chunk.status();
    const size_t in = static_cast<size_t>(at - index * chunk_size);
    if (in >= (*chunk)->size) return Status::IOError("chunk " + std::to_string(index) + " of " + image_id + " is short");
    const size_t n = std::min(len - got, (*chunk)->size - in);
    if ((*chunk)->fd < 0) {
      std::memcpy(buf + got, (*chunk)->bytes.data() + in, n);
    } else {
      size_t done = 0;
      while (done < n) {
        ssize_t r = ::pread((*chunk)->fd, buf + got + done, n - done, static_cast<off_t>((*chunk)->offset + in + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return Status::IOError("cache file of chunk " + std::to_string(index) + " is short");
        done += static_cast<size_t>(r);
      }
    }
    got += n;
  }
  return got;
}

Result<size_t> ChunkedReader::ReadAt(int64_t offset, char* buf, size_t len) {
  return ReadFromChunks(image_id_, size_, chunk_size(), offset, buf, len, [this](int64_t i) { return Chunk(i); });
}

}  // namespace glint::cache
