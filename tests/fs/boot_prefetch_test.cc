#include "tests/fs/host_cache_fixture.h"

#include <nlohmann/json.hpp>

namespace glint::fs {
namespace {

using namespace testing_host;  // NOLINT: the fixture's names

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

// Two boots of the image, reading chunk 0 and then chunk 1, one after the other: the first
// is reported, the second is learned within the report interval.
void BootTwiceWithinTheInterval(HostCache& host) {
  std::vector<char> buf(10);
  for (int64_t chunk : {0, 1}) {
    auto r = std::move(host.Open(Entry())).value();
    ASSERT_TRUE(r->ReadAt(chunk * static_cast<int64_t>(kChunkSize), buf.data(), buf.size()).ok());
    r.reset();
    host.DrainPrefetches();
  }
}

// A boot learned within the report interval is held back, then sent at a clean shutdown
// with a bounded timeout; nothing is sent twice.
TEST(BootPrefetch, AReportHeldBackByTheIntervalIsSentAtShutdown) {
  Fixture f;
  FakeBootApi api;
  auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
  BootTwiceWithinTheInterval(*host);
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

// A boot held back by the interval is reported by the timer once the interval has passed,
// with no further boot and no shutdown.
TEST(BootPrefetch, AReportHeldBackByTheIntervalIsSentWhenTheIntervalHasPassed) {
  Fixture f;
  FakeBootApi api;
  auto host = f.Make(false, uint64_t{1} << 30, api.Remote());
  BootTwiceWithinTheInterval(*host);
  auto reports = [&] {
    std::lock_guard<std::mutex> l(api.mu);
    return api.reports.size();
  };
  ASSERT_EQ(reports(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // ticks within the interval
  EXPECT_EQ(reports(), 1u);
  f.clock.Advance(61 * 1000000);
  for (int i = 0; i < 100 && reports() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(reports(), 2u);
  {
    std::lock_guard<std::mutex> l(api.mu);
    EXPECT_EQ(nlohmann::json::parse(api.reports[1].second)["chunks"], nlohmann::json({0, 1}));
  }
  host->SendPendingReports(2);
  EXPECT_EQ(reports(), 2u);  // nothing left pending
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


}  // namespace
}  // namespace glint::fs
