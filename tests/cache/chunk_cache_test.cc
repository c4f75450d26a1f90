#include "cache/chunk_cache.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include "tests/support/test_support.h"

namespace glint::cache {
namespace {

constexpr size_t kSmallChunk = 64 << 10;
const std::string kImage = "0b1c0b1c-0000-4000-8000-000000000001";
const std::string kOther = "0b1c0b1c-0000-4000-8000-000000000002";

std::vector<char> Bytes(size_t n, int seed) {
  std::vector<char> d(n);
  std::mt19937 rng(seed);
  for (auto& c : d) c = static_cast<char>(rng());
  return d;
}

std::vector<char> Contents(const ChunkRef& ref) {
  if (ref->fd < 0) return ref->bytes;
  std::vector<char> out(ref->size);
  EXPECT_EQ(::pread(ref->fd, out.data(), out.size(), static_cast<off_t>(ref->offset)),
            static_cast<ssize_t>(out.size()));
  return out;
}

// A data source that counts the chunks it is asked for; optionally slow, or lying.
struct FakeStore {
  std::atomic<int> fetches{0};
  int delay_ms = 0;
  int bad_answers = 0;  // how many fetches return damaged bytes first
  ChunkFetch For(int64_t index) {
    return [this, index]() -> Result<std::vector<char>> {
      int n = ++fetches;
      if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      auto data = Bytes(kSmallChunk, static_cast<int>(index));
      if (n <= bad_answers) data[100] ^= 1;
      return data;
    };
  }
  static Result<std::vector<char>> Unreachable() { return Status::Unavailable("store is down"); }
};

ChunkCacheOptions Options(const std::string& dir, uint64_t chunks = 100) {
  ChunkCacheOptions o;
  o.dir = dir + "/cache";
  o.chunk_size = kSmallChunk;
  o.capacity = chunks * kSmallChunk;
  return o;
}

std::string Digest(int64_t index) {
  auto d = Bytes(kSmallChunk, static_cast<int>(index));
  return Sha256Hex(d.data(), d.size());
}

TEST(ChunkCache, SixteenConcurrentReadersOfAMissingChunkCauseOneFetch) {
  testing::TempDir tmp;
  auto cache = ChunkCache::Open(Options(tmp.path()));
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  FakeStore store;
  store.delay_ms = 100;  // all 16 arrive while the first fetch is under way
  std::vector<std::thread> readers;
  std::atomic<int> right{0};
  for (int i = 0; i < 16; ++i) {
    readers.emplace_back([&] {
      auto r = (*cache)->Get({kImage, 3}, Digest(3), store.For(3));
      if (r.ok() && Contents(*r) == Bytes(kSmallChunk, 3)) ++right;
    });
  }
  for (auto& t : readers) t.join();
  EXPECT_EQ(store.fetches.load(), 1);
  EXPECT_EQ(right.load(), 16);
  EXPECT_EQ((*cache)->FetchesOf(kImage), 1u);
  // Afterwards: from disk, no fetch.
  auto again = (*cache)->Get({kImage, 3}, Digest(3), FakeStore::Unreachable);
  ASSERT_TRUE(again.ok());
  EXPECT_GE((*again)->fd, 0);
  EXPECT_EQ(Contents(*again), Bytes(kSmallChunk, 3));
}

TEST(ChunkCache, EvictsLeastRecentlyUsedWithinCapacityButNeverPinned) {
  testing::TempDir tmp;
  auto cache = std::move(ChunkCache::Open(Options(tmp.path(), 3))).value();
  FakeStore store;
  for (int64_t i = 0; i < 3; ++i) ASSERT_TRUE(cache->Get({kImage, i}, "", store.For(i)).ok());
  ASSERT_TRUE(cache->Get({kImage, 0}, "", FakeStore::Unreachable).ok());  // 0 is now the most recent
  ASSERT_TRUE(cache->Get({kImage, 3}, "", store.For(3)).ok());
  EXPECT_TRUE(cache->Contains({kImage, 0}));
  EXPECT_FALSE(cache->Contains({kImage, 1}));  // least recently used
  EXPECT_TRUE(cache->Contains({kImage, 3}));
  EXPECT_EQ(cache->Stats().bytes, 3 * kSmallChunk);
  EXPECT_EQ(cache->Stats().evictions, 1u);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/chunks/" + kImage + "/1." + Digest(1)));

  cache->SetPinned(kImage, true);
  auto other = cache->Get({kOther, 9}, "", store.For(9));  // no room: served, not kept
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(Contents(*other), Bytes(kSmallChunk, 9));
  EXPECT_FALSE(cache->Contains({kOther, 9}));
  EXPECT_EQ(cache->CachedChunks(kImage), 3u);
  cache->SetPinned(kImage, false);
  ASSERT_TRUE(cache->Get({kOther, 9}, "", store.For(9)).ok());
  EXPECT_TRUE(cache->Contains({kOther, 9}));
  EXPECT_EQ(cache->CachedChunks(kImage), 2u);
  EXPECT_LE(cache->Stats().bytes, 3 * kSmallChunk);
}

TEST(ChunkCache, SurvivesARestartAndDropsTemporaryFiles) {
  testing::TempDir tmp;
  FakeStore store;
  {
    auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
    for (int64_t i = 0; i < 4; ++i) ASSERT_TRUE(cache->Get({kImage, i}, Digest(i), store.For(i)).ok());
  }
  // What a crash mid-write leaves: a temporary file, and junk in the image's folder.
  std::ofstream(tmp.path() + "/cache/tmp/1234.1") << "half a chunk";
  std::ofstream(tmp.path() + "/cache/chunks/" + kImage + "/7.notadigest") << "junk";
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  EXPECT_EQ(cache->CachedChunks(kImage), 4u);
  EXPECT_EQ(cache->Stats().bytes, 4 * kSmallChunk);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path() + "/cache/tmp"));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/chunks/" + kImage + "/7.notadigest"));
  for (int64_t i = 0; i < 4; ++i) {
    auto r = cache->Get({kImage, i}, Digest(i), FakeStore::Unreachable);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, static_cast<int>(i)));
  }
  EXPECT_EQ(store.fetches.load(), 4);
}

TEST(ChunkCache, DamagedFileIsDiscardedAndFetchedAgain) {
  testing::TempDir tmp;
  FakeStore store;
  {
    auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
    ASSERT_TRUE(cache->Get({kImage, 2}, "", store.For(2)).ok());
  }
  std::string path = tmp.path() + "/cache/chunks/" + kImage + "/2." + Digest(2);
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(500);
    f.put('\x5a');
  }
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  // Without the store the damage shows as an error, never as the damaged bytes.
  EXPECT_FALSE(cache->Get({kImage, 2}, "", FakeStore::Unreachable).ok());
  auto r = cache->Get({kImage, 2}, "", store.For(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, 2));
  EXPECT_EQ(store.fetches.load(), 2);
  EXPECT_EQ(cache->Stats().verify_failures, 1u);
}

TEST(ChunkCache, ManifestMismatchIsFetchedOnceMoreThenRefused) {
  testing::TempDir tmp;
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  FakeStore flaky;
  flaky.bad_answers = 1;  // a transient corruption: the second fetch is right
  auto r = cache->Get({kImage, 5}, Digest(5), flaky.For(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, 5));
  EXPECT_EQ(flaky.fetches.load(), 2);

  FakeStore liar;
  liar.bad_answers = 100;
  auto bad = cache->Get({kImage, 6}, Digest(6), liar.For(6));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(liar.fetches.load(), 2);
  EXPECT_FALSE(cache->Contains({kImage, 6}));
  // A chunk cached without verification is re-checked when a manifest arrives.
  ASSERT_TRUE(cache->Get({kImage, 7}, "", liar.For(7)).ok());
  FakeStore honest;
  auto checked = cache->Get({kImage, 7}, Digest(7), honest.For(7));
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(Contents(*checked), Bytes(kSmallChunk, 7));
  EXPECT_EQ(honest.fetches.load(), 1);
}

TEST(ChunkCache, PrivateToTheMountingUserAndToOneProcess) {
  testing::TempDir tmp;
  std::filesystem::create_directory(tmp.path() + "/cache");
  ::chmod((tmp.path() + "/cache").c_str(), 0777);
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  FakeStore store;
  ASSERT_TRUE(cache->Get({kImage, 0}, "", store.For(0)).ok());
  struct stat st;
  ASSERT_EQ(::stat((tmp.path() + "/cache").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((tmp.path() + "/cache/chunks/" + kImage).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat((tmp.path() + "/cache/chunks/" + kImage + "/0." + Digest(0)).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  auto second = ChunkCache::Open(Options(tmp.path()));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Status::Code::kConflict);
  if (::geteuid() == 0) {
    std::string foreign = tmp.path() + "/foreign";
    std::filesystem::create_directory(foreign);
    ASSERT_EQ(::chown(foreign.c_str(), 65534, 65534), 0);
    ChunkCacheOptions o = Options(tmp.path());
    o.dir = foreign;
    auto refused = ChunkCache::Open(o);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), Status::Code::kPermissionDenied);
  }
}

TEST(ChunkCache, ParsesByteSizes) {
  EXPECT_EQ(ParseByteSize("123"), 123u);
  EXPECT_EQ(ParseByteSize("4K"), 4096u);
  EXPECT_EQ(ParseByteSize("512M"), uint64_t{512} << 20);
  EXPECT_EQ(ParseByteSize("10G"), uint64_t{10} << 30);
  EXPECT_EQ(ParseByteSize("10GiB"), uint64_t{10} << 30);
  EXPECT_EQ(ParseByteSize("2T"), uint64_t{2} << 40);
  EXPECT_FALSE(ParseByteSize(""));
  EXPECT_FALSE(ParseByteSize("G"));
  EXPECT_FALSE(ParseByteSize("10X"));
  EXPECT_FALSE(ParseByteSize("-1"));
  EXPECT_FALSE(ParseByteSize("99999999999999999999"));
}

}  // namespace
// Fills chunks 0..n-1 of kImage, verified against their digests.
void FillImage(ChunkCache& cache, FakeStore& store, int64_t n) {
  for (int64_t i = 0; i < n; ++i) ASSERT_TRUE(cache.Get({kImage, i}, Digest(i), store.For(i)).ok());
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(ChunkCacheImageFiles, AssemblesAnImagesVerifiedChunksIntoOneFile) {
  testing::TempDir tmp;
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  FakeStore store;
  FillImage(*cache, store, 3);
  EXPECT_EQ(cache->AssembleImage(kImage, 4).code(), Status::Code::kConflict);  // chunk 3 is missing
  FillImage(*cache, store, 4);
  EXPECT_FALSE(cache->ImageFile(kImage, 4));
  ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());
  ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());  // done before: nothing to do
  auto file = cache->ImageFile(kImage, 4);
  ASSERT_TRUE(file);
  EXPECT_FALSE(cache->ImageFile(kImage, 5));
  std::string want;
  for (int i = 0; i < 4; ++i) {
    auto b = Bytes(kSmallChunk, i);
    want.append(b.begin(), b.end());
  }
  EXPECT_EQ(ReadFile(*file), want);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/chunks/" + kImage));
  EXPECT_EQ(cache->Stats().bytes, 4 * kSmallChunk);
  EXPECT_EQ(cache->CachedChunks(kImage), 4u);
  struct stat st;
  ASSERT_EQ(::stat(file->c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  for (int64_t i = 0; i < 4; ++i) {  // chunks read from the file, at their offsets
    auto r = cache->Get({kImage, i}, Digest(i), FakeStore::Unreachable);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ((*r)->offset, static_cast<uint64_t>(i) * kSmallChunk);
    EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, static_cast<int>(i)));
  }
  EXPECT_EQ(store.fetches.load(), 4);
}

TEST(ChunkCacheImageFiles, SurviveARestartAndAreVerifiedOnceBeforeUse) {
  testing::TempDir tmp;
  FakeStore store;
  {
    auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
    FillImage(*cache, store, 4);
    ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());
  }
  // What an assembly cut short leaves: a chunk file next to the image's file, and a digest
  // list of another image whose file was never renamed into place.
  std::filesystem::create_directories(tmp.path() + "/cache/chunks/" + kImage);
  std::ofstream(tmp.path() + "/cache/chunks/" + kImage + "/1." + Digest(1)) << "stale";
  std::ofstream(tmp.path() + "/cache/images/" + kOther + ".sha256") << Digest(0) << "\n";
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  EXPECT_EQ(cache->CachedChunks(kImage), 4u);
  EXPECT_EQ(cache->Stats().bytes, 4 * kSmallChunk);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/chunks/" + kImage + "/1." + Digest(1)));
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/images/" + kOther + ".sha256"));
  EXPECT_FALSE(cache->ImageFile(kImage, 4));  // not checked since the restart
  ASSERT_TRUE(cache->VerifyImage(kImage).ok());
  EXPECT_TRUE(cache->ImageFile(kImage, 4));
  auto r = cache->Get({kImage, 3}, Digest(3), FakeStore::Unreachable);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, 3));
}

// What a crafted or damaged cache directory may hold instead of a whole-image file: each
// is removed at start, and the cache keeps working.
TEST(ChunkCacheImageFiles, MalformedImageFilesAreRemovedAtStart) {
  testing::TempDir tmp;
  FakeStore store;
  {
    auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
    FillImage(*cache, store, 4);
    ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());
  }
  const std::string dir = tmp.path() + "/cache/images/";
  std::ofstream(dir + kImage + ".sha256", std::ios::app) << "not a digest\n";  // a bad line
  std::ofstream(dir + kOther) << std::string(3 * kSmallChunk, 'x');  // size does not fit its 1 digest
  std::ofstream(dir + kOther + ".sha256") << Digest(0) << "\n";
  std::ofstream(dir + "not-an-id") << "junk";
  std::filesystem::create_symlink("/etc/passwd", dir + "0b1c0b1c-0000-4000-8000-000000000003");
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  EXPECT_EQ(cache->CachedChunks(kImage), 0u);
  EXPECT_EQ(cache->CachedChunks(kOther), 0u);
  EXPECT_EQ(cache->Stats().bytes, 0u);
  EXPECT_TRUE(std::filesystem::is_empty(dir));
  auto r = cache->Get({kImage, 1}, Digest(1), store.For(1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, 1));
}

TEST(ChunkCacheImageFiles, ADamagedChunkIsFetchedAgainAndWrittenBackInPlace) {
  testing::TempDir tmp;
  FakeStore store;
  {
    auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
    FillImage(*cache, store, 4);
    ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());
  }
  const std::string file = tmp.path() + "/cache/images/" + kImage;
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2 * kSmallChunk + 77);
    f.put('\x5a');
  }
  auto cache = std::move(ChunkCache::Open(Options(tmp.path()))).value();
  EXPECT_EQ(cache->VerifyImage(kImage).code(), Status::Code::kCorruption);
  EXPECT_EQ(cache->CachedChunks(kImage), 3u);  // only the damaged chunk went
  EXPECT_FALSE(cache->Contains({kImage, 2}));
  EXPECT_EQ(cache->Stats().bytes, 3 * kSmallChunk);
  EXPECT_FALSE(cache->ImageFile(kImage, 4));
  ASSERT_TRUE(cache->VerifyImage(kImage).ok());  // the others are good
  auto r = cache->Get({kImage, 2}, Digest(2), store.For(2));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Contents(*r), Bytes(kSmallChunk, 2));
  EXPECT_EQ(store.fetches.load(), 5);
  ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());  // back into the file, in place
  ASSERT_TRUE(cache->ImageFile(kImage, 4));
  std::string want;
  for (int i = 0; i < 4; ++i) {
    auto b = Bytes(kSmallChunk, i);
    want.append(b.begin(), b.end());
  }
  EXPECT_EQ(ReadFile(file), want);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/chunks/" + kImage));
  EXPECT_EQ(cache->Stats().bytes, 4 * kSmallChunk);
}

TEST(ChunkCacheImageFiles, EvictingOneOfItsChunksEvictsTheWholeFile) {
  testing::TempDir tmp;
  auto cache = std::move(ChunkCache::Open(Options(tmp.path(), 5))).value();
  FakeStore store;
  FillImage(*cache, store, 4);
  ASSERT_TRUE(cache->AssembleImage(kImage, 4).ok());
  auto held = cache->Get({kImage, 1}, Digest(1), FakeStore::Unreachable);  // an open reader
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE(cache->Get({kOther, 0}, "", store.For(0)).ok());
  ASSERT_TRUE(cache->Get({kOther, 1}, "", store.For(1)).ok());  // no room: the oldest chunk goes, and its file
  EXPECT_EQ(cache->CachedChunks(kImage), 0u);
  EXPECT_EQ(cache->Stats().bytes, 2 * kSmallChunk);
  EXPECT_FALSE(std::filesystem::exists(tmp.path() + "/cache/images/" + kImage));
  EXPECT_EQ(Contents(*held), Bytes(kSmallChunk, 1));  // still readable through its open file
  cache->Touch(kOther);
}

}  // namespace glint::cache
