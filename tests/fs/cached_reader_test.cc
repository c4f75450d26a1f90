// CachedReader's read-ahead of a sequential reader's misses: each chunk is handed to the
// prefetch queue once, the window moves with the reader and starts again after a jump.
#include "fs/cached_reader.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "tests/fs/host_cache_fixture.h"

namespace glint::fs {
namespace {

using testing_host::MemorySource;

constexpr size_t kReaderChunk = 64 << 10;
constexpr int64_t kChunks = 16;

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v(static_cast<size_t>(to - from + 1));
  std::iota(v.begin(), v.end(), from);
  return v;
}

struct ReaderFixture {
  testing::TempDir tmp;
  std::vector<char> data = std::vector<char>(kReaderChunk * kChunks, 'x');
  MemorySource store{data};
  std::unique_ptr<cache::ChunkCache> cache;
  std::unique_ptr<CachedReader> reader;
  std::vector<int64_t> queued;

  ReaderFixture() {
    cache::ChunkCacheOptions o;
    o.dir = tmp.path() + "/cache";
    o.chunk_size = kReaderChunk;
    auto c = cache::ChunkCache::Open(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    cache = std::move(c).value();
    ImageEntry image;
    image.id = testing_host::kId;
    image.size = static_cast<int64_t>(data.size());
    reader = std::make_unique<CachedReader>(image, nullptr, *cache, [this, image] { return store.Open(image); },
                                            nullptr);
    reader->SetAhead([this](int64_t index) { queued.push_back(index); });
  }
  void Read(int64_t from, int64_t to) {
    for (int64_t i = from; i <= to; ++i) ASSERT_TRUE(reader->Chunk(i).ok()) << i;
  }
};

TEST(CachedReaderTest, SequentialReaderQueuesEachChunkOnce) {
  ReaderFixture f;
  constexpr int64_t k = CachedReader::kAheadChunks;
  f.Read(0, 0);
  EXPECT_TRUE(f.queued.empty());  // a probe of the header alone reads nothing ahead
  f.Read(1, 6);
  // 0 -> 1 queues the window after 1; each later step only the chunk entering the window.
  EXPECT_EQ(f.queued, Range(2, 6 + k));
  f.queued.clear();
  f.Read(6, 6);  // the same chunk again: nothing new
  EXPECT_TRUE(f.queued.empty());
}

TEST(CachedReaderTest, WindowStartsAgainAfterAJumpAndStopsAtTheEnd) {
  ReaderFixture f;
  constexpr int64_t k = CachedReader::kAheadChunks;
  f.Read(0, 12);  // chunks 5-12 are now in the reader's open slots, 2 and 3 no longer
  f.queued.clear();
  f.Read(2, 3);  // back to the start of the image, sequential again
  EXPECT_EQ(f.queued, Range(4, 3 + k));
  f.queued.clear();
  f.Read(kChunks - 3, kChunks - 1);  // near the end: never past the last chunk
  EXPECT_EQ(f.queued, Range(kChunks - 1, kChunks - 1));
}

}  // namespace
}  // namespace glint::fs
