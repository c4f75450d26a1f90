#include "fs/host_cache.h"
#include "common/chunk_manifest.h"
#include "fs/image_pins.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include <sys/stat.h>

#include "tests/support/test_support.h"

namespace glint::fs {
namespace {

using cache::ChunkCache;
using cache::ChunkCacheOptions;
using cache::kChunkSize;
using cache::Sha256Hex;

const std::string kId = "7a11c0de-0000-4000-8000-00000000000a";
constexpr int64_t kSize = (10 << 20) + 12345;  // three chunks, the last one short

// A data source over memory that counts store reads and can serve one tampered byte.
class MemorySource final : public DataSource {
 public:
  explicit MemorySource(std::vector<char> data) : data_(std::move(data)) {}
  std::atomic<int> reads{0};
  std::atomic<int> opens{0};
  std::atomic<int64_t> tamper_at{-1};
  std::atomic<bool> down{false};

  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry&) override {
    if (down) return Status::Unavailable("store is down");
    ++opens;
    return std::unique_ptr<store::Reader>(new Reader(*this));
  }

 private:
  class Reader final : public store::Reader {
   public:
    explicit Reader(MemorySource& s) : s_(s) {}
    int64_t size() const override { return static_cast<int64_t>(s_.data_.size()); }
    Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
      if (s_.down) return Status::Unavailable("store is down");
      ++s_.reads;
      if (offset >= size()) return size_t{0};
      size_t n = std::min(len, s_.data_.size() - static_cast<size_t>(offset));
      std::memcpy(buf, s_.data_.data() + offset, n);
      int64_t t = s_.tamper_at;
      if (t >= offset && t < offset + static_cast<int64_t>(n)) buf[t - offset] ^= 0x40;
      return n;
    }

   private:
    MemorySource& s_;
  };
  std::vector<char> data_;
};

std::vector<char> ImageData() {
  std::vector<char> d(kSize);
  std::mt19937 rng(1);
  for (auto& c : d) c = static_cast<char>(rng());
  return d;
}

ImageEntry Entry() {
  ImageEntry e;
  e.id = kId;
  e.size = kSize;
  e.status = "active";
  e.fields["os_hash_algo"] = "sha512";
  e.fields["os_hash_value"] = std::string(128, 'e');
  return e;
}

// The manifest the API would serve for `data`, built here.
std::string ManifestOf(const std::vector<char>& data) {
  ImageManifest m;
  m.image_id = kId;
  m.size = kSize;
  m.chunk_size = kChunkSize;
  m.os_hash_algo = "sha512";
  m.os_hash_value = std::string(128, 'e');
  for (size_t at = 0; at < data.size(); at += kChunkSize) {
    m.chunks.push_back(Sha256Hex(data.data() + at, std::min(kChunkSize, data.size() - at)));
  }
  m.binding = ManifestBinding({m.image_id, m.size, static_cast<int64_t>(m.chunk_size), "sha256", m.os_hash_algo,
                               m.os_hash_value, m.chunks, ""});
  return ManifestToJson(m);
}

struct Fixture {
  testing::TempDir tmp;
  std::vector<char> data = ImageData();
  MemorySource store{data};
  std::optional<std::string> manifest = ManifestOf(data);
  bool api_down = false;
  std::atomic<int> manifest_calls{0};

  ManualClock clock;
  std::unique_ptr<HostCache> Make(bool allow_unverified = false, uint64_t capacity = uint64_t{1} << 30,
                                  BootSetRemote remote = {}) {
    ChunkCacheOptions o;
    o.dir = tmp.path() + "/cache";
    o.capacity = capacity;
    auto cache = ChunkCache::Open(o);
    EXPECT_TRUE(cache.ok()) << cache.status().ToString();
    HostCacheOptions ho;
    ho.allow_unverified = allow_unverified;
    return std::make_unique<HostCache>(
        store, std::move(cache).value(),
        [this](const std::string& id) -> Result<std::optional<std::string>> {
          ++manifest_calls;
          if (api_down) return Status::Unavailable("API down");
          return id == kId ? manifest : std::nullopt;
        },
        ho, clock, std::move(remote));
  }
};

std::vector<char> ReadAll(store::Reader& r, size_t request = 1 << 20) {
  std::vector<char> out(static_cast<size_t>(r.size()));
  for (size_t at = 0; at < out.size(); at += request) {
    auto n = r.ReadAt(static_cast<int64_t>(at), out.data() + at, std::min(request, out.size() - at));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) break;
  }
  return out;
}

TEST(HostCache, VerifiedReadsCostOneStoreReadPerChunkThenNone) {
  Fixture f;
  auto host = f.Make();
  auto r = host->Open(Entry());
  ASSERT_TRUE(r.ok());
  ASSERT_NE(dynamic_cast<CachedReader*>(r->get()), nullptr);
  EXPECT_EQ(ReadAll(**r, 128 << 10), f.data);  // 81 requests of 128 KiB
  EXPECT_EQ(f.store.reads.load(), 3);          // one per chunk
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.chunks"), "3/3");
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "1");
  auto again = host->Open(Entry());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(ReadAll(**again), f.data);
  EXPECT_EQ(f.store.reads.load(), 3);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.fetches"), "3");
}

TEST(HostCache, TamperedChunkIsRefetchedOnceThenRefusedNeverServed) {
  Fixture f;
  auto host = f.Make();
  f.store.tamper_at = (4 << 20) + 77;  // in chunk 1
  auto r = std::move(host->Open(Entry())).value();
  std::vector<char> buf(1 << 20);
  auto bad = r->ReadAt(4 << 20, buf.data(), buf.size());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_EQ(f.store.reads.load(), 2);  // fetched, then once more
  auto good = r->ReadAt(0, buf.data(), buf.size());  // other chunks are fine
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data(), buf.size()));
  f.store.tamper_at = -1;  // the store heals: the chunk is fetched and kept
  ASSERT_TRUE(r->ReadAt(4 << 20, buf.data(), buf.size()).ok());
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data() + (4 << 20), buf.size()));
}

TEST(HostCache, WithoutAManifestReadsUncachedUnlessUnverifiedIsAllowed) {
  Fixture f;
  f.manifest = std::nullopt;  // the API answers 404
  {
    auto host = f.Make();
    auto r = std::move(host->Open(Entry())).value();
    EXPECT_EQ(dynamic_cast<CachedReader*>(r.get()), nullptr);
    EXPECT_EQ(ReadAll(*r), f.data);
    EXPECT_EQ(host->cache().Stats().chunks, 0u);
  }
  auto host = f.Make(/*allow_unverified=*/true);
  auto r = std::move(host->Open(Entry())).value();
  ASSERT_NE(dynamic_cast<CachedReader*>(r.get()), nullptr);
  EXPECT_EQ(ReadAll(*r), f.data);
  EXPECT_EQ(host->cache().Stats().chunks, 3u);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "0");
}

TEST(HostCache, AManifestThatDoesNotFitTheImageIsNeverUsed) {
  Fixture f;
  ImageEntry other = Entry();
  other.fields["os_hash_value"] = std::string(128, 'f');  // the manifest is bound to other data
  auto host = f.Make(/*allow_unverified=*/true);
  auto r = std::move(host->Open(other)).value();
  EXPECT_EQ(dynamic_cast<CachedReader*>(r.get()), nullptr);
  EXPECT_EQ(ReadAll(*r), f.data);
}

TEST(HostCache, CachedImageReadsWithTheApiAndTheStoreDownAfterARestart) {
  Fixture f;
  {
    auto host = f.Make();
    auto r = std::move(host->Open(Entry())).value();
    EXPECT_EQ(ReadAll(*r), f.data);
  }
  f.api_down = true;
  f.store.down = true;
  auto host = f.Make();
  auto r = host->Open(Entry());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), f.data);
  EXPECT_EQ(host->Xattr(Entry(), "user.glint.cache.verified"), "1");  // the kept manifest
}

bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

TEST(ImagePins, PinFetchesTheWholeImageAndHoldsAcrossARestart) {
  Fixture f;
  ImageEntry image = Entry();
  image.name = "pinned";
  image.fields["name"] = "pinned";
  {
    auto host = f.Make();
    ImagePins pins(*host);
    pins.Start();
    EXPECT_EQ(pins.Pin(image), 0);
    EXPECT_TRUE(WaitFor([&] { return pins.Pending() == 0; }));
    EXPECT_EQ(host->cache().CachedChunks(kId), 3u);
    EXPECT_TRUE(host->cache().Pinned(kId));
    EXPECT_EQ(f.store.reads.load(), 3);
  }
  f.api_down = true;
  f.store.down = true;
  auto host = f.Make();
  ImagePins pins(*host);
  EXPECT_TRUE(pins.Pinned(kId));
  EXPECT_TRUE(host->cache().Pinned(kId));
  auto kept = pins.PinnedImages();
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].name, std::optional<std::string>("pinned"));
  EXPECT_EQ(kept[0].size, kSize);
  EXPECT_EQ(kept[0].fields, image.fields);
  auto r = host->Open(kept[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadAll(**r), f.data);
  pins.Unpin(kId);
  EXPECT_FALSE(host->cache().Pinned(kId));
  EXPECT_TRUE(ImagePins(*host).PinnedImages().empty());
}

TEST(ImagePins, RefusesWhatCannotBeKept) {
  Fixture f;
  auto small = f.Make(false, 2 * kChunkSize);  // the image needs three chunks
  ImagePins pins(*small);
  EXPECT_EQ(pins.Pin(Entry()), ENOSPC);
  small.reset();
  f.manifest = std::nullopt;
  auto host = f.Make();
  ImagePins strict(*host);
  EXPECT_EQ(strict.Pin(Entry()), ENOTSUP);
  EXPECT_FALSE(strict.Pinned(kId));
  EXPECT_EQ(ImageEntryFromJson("{\"id\": \"../../etc\", \"status\": \"active\", \"size\": 1, "
                               "\"updated_at\": 0, \"fields\": {}}"),
            std::nullopt);
}

TEST(BootPrefetch, LearnsTheChunksReadInTheFirstSecondsAfterOpen) {
  Fixture f;
  auto host = f.Make();
  std::vector<char> buf(4096);
  {
    auto r = std::move(host->Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(0, buf.data(), buf.size()).ok());
    ASSERT_TRUE(r->ReadAt(2 * kChunkSize + 5, buf.data(), buf.size()).ok());
    f.clock.AdvanceSeconds(31);  // the boot is over: later reads are not part of it
    ASSERT_TRUE(r->ReadAt(kChunkSize, buf.data(), buf.size()).ok());
  }
  EXPECT_EQ(host->cache().GetMeta(kId + ".boot"), "[0,2]");
  // The pinning thread's reads teach nothing.
  auto pin_reader = std::move(host->Open(Entry(), /*learn=*/false)).value();
  ASSERT_TRUE(pin_reader->ReadAt(kChunkSize, buf.data(), buf.size()).ok());
  pin_reader.reset();
  EXPECT_EQ(host->cache().GetMeta(kId + ".boot"), "[0,2]");
}

TEST(BootPrefetch, AnOpenPrefetchesTheLearnedBootSetInParallel) {
  Fixture f;
  auto host = f.Make();
  ASSERT_TRUE(host->cache().PutMeta(kId + ".boot", "[1,2]").ok());  // learned on an earlier boot
  auto r = std::move(host->Open(Entry())).value();
  host->DrainPrefetches();
  EXPECT_FALSE(host->cache().Contains({kId, 0}));
  EXPECT_TRUE(host->cache().Contains({kId, 1}));
  EXPECT_TRUE(host->cache().Contains({kId, 2}));
  EXPECT_EQ(f.store.reads.load(), 2);
  std::vector<char> buf(kChunkSize);
  ASSERT_TRUE(r->ReadAt(kChunkSize, buf.data(), buf.size()).ok());  // no store read: prefetched
  EXPECT_EQ(f.store.reads.load(), 2);
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data() + kChunkSize, buf.size()));
}

// The API's side of boot sets, in memory: a merged set to answer, the reports received.
struct FakeBootApi {
  std::mutex mu;
  bool down = false;  // fetches fail as with the API unreachable
  int answer = 204;   // to reports
  bool hang = false;  // reports wait out their timeout and fail (an API that never answers)
  std::optional<std::string> merged;
  std::vector<std::pair<std::string, std::string>> reports;  // image, body
  std::vector<int> timeouts;                                 // of each report, ms (0: the usual)
  BootSetRemote Remote() {
    BootSetRemote r;
    r.fetch = [this](const std::string&) -> Result<std::optional<std::string>> {
      std::lock_guard<std::mutex> l(mu);
      if (down) return Status::Unavailable("connection refused");
      return merged;
    };
    r.report = [this](const std::string& id, const std::string& body, int timeout_ms) -> Result<int> {
      std::lock_guard<std::mutex> l(mu);
      reports.emplace_back(id, body);
      timeouts.push_back(timeout_ms);
      if (hang) {
        std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms > 0 ? timeout_ms : 5000));
        return Status::Unavailable("no answer");
      }
      return answer;
    };
    return r;
  }
};

TEST(BootPrefetch, AFreshHostPrefetchesTheApisMergedSet) {
  Fixture f;
  FakeBootApi api;
  // What other hosts learned; 7 and 99 are beyond the image (3 chunks) and are ignored.
  api.merged = R"({"image_id": "x", "chunk_size": 4194304, "reports": 2, "chunks": [0, 2, 7, 99]})";
  auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
  auto r = std::move(host->Open(Entry())).value();
  host->DrainPrefetches();
  EXPECT_TRUE(host->cache().Contains({kId, 0}));
  EXPECT_FALSE(host->cache().Contains({kId, 1}));
  EXPECT_TRUE(host->cache().Contains({kId, 2}));
  EXPECT_EQ(f.store.reads.load(), 2);  // before the reader asked for anything
  std::vector<char> buf(100);
  ASSERT_TRUE(r->ReadAt(2 * kChunkSize + 5, buf.data(), buf.size()).ok());
  EXPECT_EQ(f.store.reads.load(), 2);
  EXPECT_EQ(0, std::memcmp(buf.data(), f.data.data() + 2 * kChunkSize + 5, buf.size()));
}

TEST(BootPrefetch, MalformedOrForeignMergedSetsPrefetchNothing) {
  for (const char* answer : {"[0,1]", "{\"chunks\": [0, 1]}", R"({"chunk_size": 1048576, "chunks": [0, 1]})",
                             R"({"chunk_size": 4194304, "chunks": "0,1"})", R"({"chunk_size": 4194304, "chunks": [-1, 1.5, "2"]})",
                             "not json"}) {
    Fixture f;
    FakeBootApi api;
    api.merged = answer;
    auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
    auto r = std::move(host->Open(Entry())).value();
    host->DrainPrefetches();
    EXPECT_EQ(f.store.reads.load(), 0) << answer;
  }
}

// A restarted host (same cache directory, its chunks gone) whose API is down: it
// prefetches the merged set kept from the API's last answer, and only indexes of the image.
TEST(BootPrefetch, TheMergedSetIsKeptAndPrefetchedWhileTheApiIsDown) {
  Fixture f;
  FakeBootApi api;
  api.merged = R"({"image_id": "x", "chunk_size": 4194304, "reports": 2, "chunks": [0, 2, 99]})";
  const std::string kept_path = f.tmp.path() + "/cache/meta/" + kId + ".merged-boot";
  auto restart_without_chunks = [&] {
    std::filesystem::remove_all(f.tmp.path() + "/cache/chunks/" + kId);
    f.store.reads = 0;
    return f.Make(false, uint64_t{1} << 30, api.Remote());
  };
  {
    auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
    auto r = std::move(host->Open(Entry())).value();
    host->DrainPrefetches();
    EXPECT_EQ(host->cache().GetMeta(kId + ".merged-boot"), R"({"chunk_size":4194304,"chunks":[0,2]})");
  }
  struct stat st {};
  ASSERT_EQ(::stat(kept_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  api.down = true;
  {
    auto host = restart_without_chunks();
    auto r = std::move(host->Open(Entry())).value();
    host->DrainPrefetches();
    EXPECT_TRUE(host->cache().Contains({kId, 0}));
    EXPECT_FALSE(host->cache().Contains({kId, 1}));
    EXPECT_TRUE(host->cache().Contains({kId, 2}));
    EXPECT_EQ(f.store.reads.load(), 2);
  }
  // The kept file is untrusted: only integer indexes within the image (3 chunks) count.
  for (const auto& [text, want] : std::vector<std::pair<std::string, int>>{
           {R"({"chunk_size": 4194304, "chunks": [1, -1, 3, 7, 1.5, "2", 18446744073709551615]})", 1},
           {R"({"chunk_size": 1048576, "chunks": [0, 1]})", 0},
           {R"({"chunks": [0, 1]})", 0},
           {"[0, 1, 2]", 0},
           {"not json", 0}}) {
    std::ofstream(kept_path, std::ios::trunc) << text;
    auto host = restart_without_chunks();
    auto r = std::move(host->Open(Entry())).value();
    host->DrainPrefetches();
    EXPECT_EQ(f.store.reads.load(), want) << text;
    if (want) {
      EXPECT_TRUE(host->cache().Contains({kId, 1})) << text;
    }
  }
  // The API back, with no set for the image: the kept copy goes.
  api.down = false;
  api.merged = std::nullopt;
  auto host = restart_without_chunks();
  auto r = std::move(host->Open(Entry())).value();
  host->DrainPrefetches();
  EXPECT_EQ(f.store.reads.load(), 0);
  EXPECT_FALSE(host->cache().GetMeta(kId + ".merged-boot"));
}

TEST(BootPrefetch, TheLearnedSetIsReportedOncePerIntervalWithAKeptHostId) {
  Fixture f;
  FakeBootApi api;
  auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
  std::vector<char> buf(10);
  {
    auto r = std::move(host->Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(0, buf.data(), buf.size()).ok());
    ASSERT_TRUE(r->ReadAt(2 * kChunkSize, buf.data(), buf.size()).ok());
  }  // closed: the record is kept and reported
  host->DrainPrefetches();
  std::string host_id;
  {
    std::lock_guard<std::mutex> l(api.mu);
    ASSERT_EQ(api.reports.size(), 1u);
    EXPECT_EQ(api.reports[0].first, kId);
    auto body = nlohmann::json::parse(api.reports[0].second);
    EXPECT_EQ(body["chunk_size"], kChunkSize);
    EXPECT_EQ(body["chunks"], nlohmann::json({0, 2}));
    host_id = body["host"].get<std::string>();
    EXPECT_EQ(host->cache().GetMeta("host-id").value_or(""), host_id);
  }
  {  // another boot reading more, within the interval: kept, not reported
    auto r = std::move(host->Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(kChunkSize, buf.data(), buf.size()).ok());
  }
  host->DrainPrefetches();
  EXPECT_EQ(api.reports.size(), 1u);
  f.clock.Advance(61 * 1000000);
  {  // the next boot after the interval: reported, the whole kept set, same host id
    auto r = std::move(host->Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(0, buf.data(), buf.size()).ok());
  }
  host->DrainPrefetches();
  std::lock_guard<std::mutex> l(api.mu);
  ASSERT_EQ(api.reports.size(), 2u);
  auto body = nlohmann::json::parse(api.reports[1].second);
  EXPECT_EQ(body["chunks"], nlohmann::json({0, 1, 2}));
  EXPECT_EQ(body["host"], host_id);
}

// A boot learned within the report interval is held back, then sent at a clean shutdown
// with a bounded timeout; nothing is sent twice.
TEST(BootPrefetch, AReportHeldBackByTheIntervalIsSentAtShutdown) {
  Fixture f;
  FakeBootApi api;
  auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
  std::vector<char> buf(10);
  for (int64_t chunk : {0, 1}) {
    auto r = std::move(host->Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(chunk * static_cast<int64_t>(kChunkSize), buf.data(), buf.size()).ok());
    r.reset();
    host->DrainPrefetches();
  }
  ASSERT_EQ(api.reports.size(), 1u);  // the second boot is within the minute
  host->SendPendingReports(2);
  ASSERT_EQ(api.reports.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(api.reports[1].second)["chunks"], nlohmann::json({0, 1}));
  EXPECT_EQ(api.timeouts[0], 0);  // the usual timeouts while running
  EXPECT_GT(api.timeouts[1], 0);
  EXPECT_LE(api.timeouts[1], 2000);
  host->SendPendingReports(2);
  EXPECT_EQ(api.reports.size(), 2u);  // sent: no longer pending
}

// Reports the API could not take stay pending; at shutdown, to an API that never answers,
// they are tried only until the deadline.
TEST(BootPrefetch, ShutdownReportsEndAtTheirDeadline) {
  testing::TempDir tmp;
  ChunkCacheOptions o;
  o.dir = tmp.path() + "/cache";
  o.capacity = uint64_t{1} << 30;
  auto cache = ChunkCache::Open(o);
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  FakeBootApi api;
  api.answer = 503;
  ManualClock clock;
  BootSets sets(**cache, BootOptions{}, clock, api.Remote());
  for (const char* id : {"img-a", "img-b", "img-c"}) sets.StartRecording(id)->Read(0);
  sets.Drain();
  ASSERT_EQ(api.reports.size(), 3u);  // refused with 503: all three still pending
  api.hang = true;
  const auto start = std::chrono::steady_clock::now();
  sets.SendPendingReports(0.3);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 1.0);
  EXPECT_EQ(api.reports.size(), 4u);  // the first waited out the whole budget; no time for the others
  EXPECT_LE(api.timeouts.back(), 300);
}

TEST(ImageManifest, RefusesManifestsThatDoNotFit) {
  auto data = ImageData();
  std::string good = ManifestOf(data);
  ASSERT_TRUE(ParseManifest(good, Entry(), kChunkSize).ok());
  ImageEntry wrong_id = Entry();
  wrong_id.id = "7a11c0de-0000-4000-8000-00000000000b";
  EXPECT_FALSE(ParseManifest(good, wrong_id, kChunkSize).ok());
  ImageEntry wrong_size = Entry();
  wrong_size.size = kSize + 1;
  EXPECT_FALSE(ParseManifest(good, wrong_size, kChunkSize).ok());
  EXPECT_FALSE(ParseManifest(good, Entry(), 1 << 20).ok());
  auto j = nlohmann::json::parse(good);
  j["chunks"].erase(0);
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  j = nlohmann::json::parse(good);
  j["chunks"][1] = std::string(64, 'G');
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  j = nlohmann::json::parse(good);
  j["algorithm"] = "md5";
  EXPECT_FALSE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  EXPECT_FALSE(ParseManifest("[1,2]", Entry(), kChunkSize).ok());
  EXPECT_FALSE(ParseManifest("{\"image_id\":", Entry(), kChunkSize).ok());
}

// The binding covers every chunk digest and the header: a manifest whose digest of one
// chunk was replaced (well-formed, the right count) or whose binding was dropped or
// altered is refused, so a tampered manifest never vouches for tampered data.
TEST(ImageManifest, RefusesAManifestWhoseBindingDoesNotMatch) {
  auto data = ImageData();
  auto j = nlohmann::json::parse(ManifestOf(data));
  ASSERT_TRUE(ParseManifest(j.dump(), Entry(), kChunkSize).ok());
  auto swapped = j;
  swapped["chunks"][1] = Sha256Hex("other", 5);
  auto r = ParseManifest(swapped.dump(), Entry(), kChunkSize);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("binding"), std::string::npos) << r.status().ToString();
  auto unbound = j;
  unbound["binding"] = "";
  EXPECT_FALSE(ParseManifest(unbound.dump(), Entry(), kChunkSize).ok());
  unbound.erase("binding");
  EXPECT_FALSE(ParseManifest(unbound.dump(), Entry(), kChunkSize).ok());
  auto other = j;
  other["binding"] = Sha256Hex("x", 1);
  EXPECT_FALSE(ParseManifest(other.dump(), Entry(), kChunkSize).ok());
  // A kept manifest with a broken binding is not used either: the image reads uncached.
  Fixture f;
  f.manifest = swapped.dump();
  auto host = f.Make();
  EXPECT_FALSE(host->Cacheable(Entry()));
}

}  // namespace
}  // namespace glint::fs
