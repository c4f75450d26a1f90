#include "cache/image_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "tests/support/test_support.h"

namespace glint::cache {
namespace {

const std::string kCachedImage = "ca5eca5e-0000-4000-8000-000000000001";
const std::string kOtherImage = "ca5eca5e-0000-4000-8000-000000000002";

// An image's data in memory, counting the store reads made of it.
struct StoreImage {
  std::vector<char> data;
  std::atomic<int> opens{0}, reads{0};
  bool fail_open = false;

  explicit StoreImage(size_t size, int seed = 1) : data(size) {
    std::mt19937 rng(seed);
    for (auto& c : data) c = static_cast<char>(rng());
  }
  ImageChunks Chunks(const std::string& id) const {
    ImageChunks c{id, static_cast<int64_t>(data.size()), {}};
    for (size_t at = 0; at < data.size(); at += kChunkSize) {
      c.digests.push_back(Sha256Hex(data.data() + at, std::min(kChunkSize, data.size() - at)));
    }
    return c;
  }
  OpenStore Opener() {
    return [this]() -> Result<std::unique_ptr<store::Reader>> {
      ++opens;
      if (fail_open) return Status::Unavailable("store down");
      return std::unique_ptr<store::Reader>(new Reader(*this));
    };
  }
  class Reader final : public store::Reader {
   public:
    explicit Reader(StoreImage& img) : img_(img) {}
    int64_t size() const override { return static_cast<int64_t>(img_.data.size()); }
    Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
      ++img_.reads;
      if (offset >= size()) return size_t{0};
      size_t n = std::min(len, img_.data.size() - static_cast<size_t>(offset));
      std::memcpy(buf, img_.data.data() + offset, n);
      return n;
    }

   private:
    StoreImage& img_;
  };
};

std::vector<char> ReadAll(store::Reader& r, int64_t offset, size_t len) {
  std::vector<char> out(len);
  size_t got = 0;
  while (got < len) {
    auto n = r.ReadAt(offset + static_cast<int64_t>(got), out.data() + got, std::min<size_t>(1 << 20, len - got));
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    got += *n;
  }
  out.resize(got);
  return out;
}

ImageCacheOptions TestOptions(const std::string& dir, uint64_t max_size = uint64_t{1} << 30) {
  ImageCacheOptions o;
  o.dir = dir;
  o.max_size = max_size;
  o.prefetch_delay = 0;
  return o;
}

TEST(ImageCache, SecondReadComesFromDiskAndTheImageIsListed) {
  testing::TempDir tmp;
  ManualClock clock;
  StoreImage img((9 << 20) + 77);  // three chunks, the last one short
  auto cache = ImageCache::Open(TestOptions(tmp.path()), clock);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  {
    auto r = (*cache)->Reader(img.Chunks(kCachedImage), img.Opener());
    EXPECT_EQ(ReadAll(*r, 0, img.data.size()), img.data);
  }
  EXPECT_TRUE((*cache)->IsCached(kCachedImage));
  auto listed = (*cache)->Cached();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].image_id, kCachedImage);
  EXPECT_EQ(listed[0].size, static_cast<int64_t>(img.data.size()));
  EXPECT_EQ(listed[0].hits, 0u);
  EXPECT_DOUBLE_EQ(listed[0].last_modified, clock.NowMicros() / 1e6);
  const int reads = img.reads, opens = img.opens;
  clock.AdvanceSeconds(5);
  {
    auto r = (*cache)->Reader(img.Chunks(kCachedImage), img.Opener());
    // A range across a chunk boundary, then everything: no store read, no store open.
    auto mid = ReadAll(*r, (4 << 20) - 10, 100);
    EXPECT_EQ(mid, std::vector<char>(img.data.begin() + (4 << 20) - 10, img.data.begin() + (4 << 20) + 90));
    EXPECT_EQ(ReadAll(*r, 0, img.data.size()), img.data);
  }
  EXPECT_EQ(img.reads, reads);
  EXPECT_EQ(img.opens, opens);
  listed = (*cache)->Cached();
  EXPECT_EQ(listed[0].hits, 1u);
  EXPECT_DOUBLE_EQ(listed[0].last_accessed, clock.NowMicros() / 1e6);
}

TEST(ImageCache, APartlyReadImageIsNotListedAndARestartKeepsTheRecord) {
  testing::TempDir tmp;
  ManualClock clock;
  StoreImage img(9 << 20);
  {
    auto cache = ImageCache::Open(TestOptions(tmp.path()), clock);
    ASSERT_TRUE(cache.ok());
    auto r = (*cache)->Reader(img.Chunks(kCachedImage), img.Opener());
    ReadAll(*r, 5 << 20, 10);  // one chunk of three
    EXPECT_FALSE((*cache)->IsCached(kCachedImage));
    EXPECT_TRUE((*cache)->Cached().empty());
    EXPECT_EQ((*cache)->chunks().CachedChunks(kCachedImage), 1u);
    ASSERT_OK(r->FillAll());
    EXPECT_EQ((*cache)->Cached().size(), 1u);
  }
  auto again = ImageCache::Open(TestOptions(tmp.path()), clock);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ((*again)->Cached().size(), 1u);
  img.fail_open = true;  // the store is gone: the cache still serves the image
  auto r = (*again)->Reader(img.Chunks(kCachedImage), img.Opener());
  EXPECT_EQ(ReadAll(*r, 0, img.data.size()), img.data);
}

TEST(ImageCache, TamperedStoreDataIsNeitherServedNorCached) {
  testing::TempDir tmp;
  StoreImage img(5 << 20);
  auto chunks = img.Chunks(kCachedImage);
  img.data[100] ^= 1;
  auto cache = ImageCache::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(cache.ok());
  auto r = (*cache)->Reader(chunks, img.Opener());
  std::vector<char> buf(10);
  auto n = r->ReadAt(0, buf.data(), buf.size());
  EXPECT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kCorruption);
  EXPECT_EQ((*cache)->chunks().CachedChunks(kCachedImage), 0u);
}

TEST(ImageCache, QueueDeleteAndClear) {
  testing::TempDir tmp;
  StoreImage a(1000), b(2000, 2);
  auto cache = ImageCache::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(cache.ok());
  ImageCache& c = **cache;
  EXPECT_TRUE(c.Queue(kCachedImage));
  EXPECT_FALSE(c.Queue(kCachedImage)) << "queued twice";
  EXPECT_TRUE(c.Queue(kOtherImage));
  EXPECT_EQ(c.Queued(), (std::vector<std::string>{kCachedImage, kOtherImage}));
  EXPECT_TRUE(c.DeleteQueued(kOtherImage));
  EXPECT_FALSE(c.DeleteQueued(kOtherImage));
  ASSERT_OK(c.Reader(a.Chunks(kCachedImage), a.Opener())->FillAll());
  EXPECT_TRUE(c.Queued().empty()) << "a cached image leaves the queue";
  EXPECT_FALSE(c.Queue(kCachedImage)) << "already cached";
  ASSERT_OK(c.Reader(b.Chunks(kOtherImage), b.Opener())->FillAll());
  EXPECT_EQ(c.Cached().size(), 2u);
  EXPECT_TRUE(c.DeleteCached(kCachedImage));
  EXPECT_FALSE(c.IsCached(kCachedImage));
  EXPECT_EQ(c.chunks().CachedChunks(kCachedImage), 0u);
  EXPECT_TRUE(c.Queue(kCachedImage));
  EXPECT_EQ(c.DeleteAllCached(), 1u);
  EXPECT_TRUE(c.Cached().empty());
  EXPECT_EQ(c.Queued().size(), 1u);
  EXPECT_EQ(c.DeleteAllQueued(), 1u);
  EXPECT_TRUE(c.Queued().empty());
}

TEST(ImageCache, TheQueueSurvivesARestartAndThePrefetcherWorksItOff) {
  testing::TempDir tmp;
  StoreImage img(6 << 20);
  {
    auto cache = ImageCache::Open(TestOptions(tmp.path()));
    ASSERT_TRUE(cache.ok());
    EXPECT_TRUE((*cache)->Queue(kCachedImage));
  }
  auto cache = ImageCache::Open(TestOptions(tmp.path()));
  ASSERT_TRUE(cache.ok());
  ImageCache& c = **cache;
  EXPECT_EQ(c.Queued(), std::vector<std::string>{kCachedImage});
  std::atomic<int> calls{0};
  c.StartPrefetcher([&](const std::string& id) {
    ++calls;
    return c.Reader(img.Chunks(id), img.Opener())->FillAll();
  });
  for (int i = 0; i < 200 && !c.IsCached(kCachedImage); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(c.IsCached(kCachedImage));
  for (int i = 0; i < 200 && !c.Queued().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(c.Queued().empty());
  // A failed prefetch leaves the queue too (queued once the first prefetcher is stopped, so
  // only the broken one can take it).
  c.StopPrefetcher();
  EXPECT_TRUE(c.Queue(kOtherImage));
  StoreImage broken(100);
  broken.fail_open = true;
  c.StartPrefetcher([&](const std::string& id) { return c.Reader(broken.Chunks(id), broken.Opener())->FillAll(); });
  for (int i = 0; i < 200 && !c.Queued().empty(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(c.Queued().empty());
  EXPECT_FALSE(c.IsCached(kOtherImage));
  EXPECT_EQ(calls, 1);
}

TEST(ImageCache, ThePrefetchWaitsItsDelay) {
  testing::TempDir tmp;
  ManualClock clock;
  auto o = TestOptions(tmp.path());
  o.prefetch_delay = 30;
  auto cache = ImageCache::Open(o, clock);
  ASSERT_TRUE(cache.ok());
  std::atomic<int> calls{0};
  (*cache)->StartPrefetcher([&](const std::string&) {
    ++calls;
    return Status::Ok();
  });
  EXPECT_TRUE((*cache)->Queue(kCachedImage));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ((*cache)->Queued().size(), 1u);
  clock.AdvanceSeconds(31);
  for (int i = 0; i < 200 && calls == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(calls, 1);
}

TEST(ImageCache, EvictionWithinTheSizeMakesAnImageUncached) {
  testing::TempDir tmp;
  StoreImage a(8 << 20), b(8 << 20, 2);
  auto cache = ImageCache::Open(TestOptions(tmp.path(), 12 << 20));  // room for three chunks
  ASSERT_TRUE(cache.ok());
  ImageCache& c = **cache;
  ASSERT_OK(c.Reader(a.Chunks(kCachedImage), a.Opener())->FillAll());
  EXPECT_TRUE(c.IsCached(kCachedImage));
  ASSERT_OK(c.Reader(b.Chunks(kOtherImage), b.Opener())->FillAll());
  EXPECT_TRUE(c.IsCached(kOtherImage));
  EXPECT_FALSE(c.IsCached(kCachedImage)) << "least recently used chunks went";
  EXPECT_LE(c.chunks().Stats().bytes, uint64_t{12} << 20);
  auto listed = c.Cached();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].image_id, kOtherImage);
}

}  // namespace
}  // namespace glint::cache
