#include "fs/readahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace glint::fs {
namespace {

// A store reader over memory that records what it was asked, can be slow (a network round
// trip) and can fail on one byte.
class RecordingReader : public store::Reader {
 public:
  struct Shared {
    std::mutex mu;
    std::vector<std::pair<int64_t, size_t>> reads;  // (offset, len) the store served
    std::atomic<int> in_flight{0}, max_in_flight{0};
    std::atomic<int64_t> client_end{0};   // furthest byte the client had asked for
    std::atomic<int> ahead_of_client{0};  // store reads that began past client_end
  };
  RecordingReader(const std::vector<char>& data, std::shared_ptr<Shared> s, int delay_ms = 0,
                  int64_t bad_byte = -1)
      : data_(data), s_(std::move(s)), delay_ms_(delay_ms), bad_byte_(bad_byte) {}
  int64_t size() const override { return static_cast<int64_t>(data_.size()); }
  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    int now = ++s_->in_flight;
    for (int m = s_->max_in_flight.load(); now > m && !s_->max_in_flight.compare_exchange_weak(m, now);) {
    }
    if (offset >= s_->client_end.load()) ++s_->ahead_of_client;
    {
      std::lock_guard<std::mutex> l(s_->mu);
      s_->reads.emplace_back(offset, len);
    }
    if (delay_ms_) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    --s_->in_flight;
    if (bad_byte_ >= offset && bad_byte_ < offset + static_cast<int64_t>(len)) {
      return Status::IOError("injected read error");
    }
    if (offset >= size()) return size_t{0};
    size_t n = std::min(len, data_.size() - static_cast<size_t>(offset));
    std::memcpy(buf, data_.data() + offset, n);
    return n;
  }

 private:
  const std::vector<char>& data_;
  std::shared_ptr<RecordingReader::Shared> s_;
  int delay_ms_;
  int64_t bad_byte_;
};

std::vector<char> Pattern(size_t n) {
  std::vector<char> d(n);
  std::mt19937_64 rng(42);
  for (auto& c : d) c = static_cast<char>(rng());
  return d;
}

ReadAheadOptions Small(int depth = 4) {
  ReadAheadOptions o;
  o.window = 1 << 20;
  o.depth = depth;
  o.threads = 4;
  o.budget = size_t{64} << 20;
  return o;
}

// Reads [offset, offset+len) through r as the client, noting how far it has asked.
std::vector<char> ClientRead(store::Reader& r, RecordingReader::Shared& s, int64_t offset, size_t len) {
  int64_t end = offset + static_cast<int64_t>(len);
  for (int64_t e = s.client_end.load(); end > e && !s.client_end.compare_exchange_weak(e, end);) {
  }
  std::vector<char> out(len);
  auto n = r.ReadAt(offset, out.data(), len);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  out.resize(n.ok() ? *n : 0);
  return out;
}

TEST(ReadAhead, SequentialReadsAreCorrectPrefetchedAndParallel) {
  const auto data = Pattern((40 << 20) + 12345);  // not a multiple of the window
  auto shared = std::make_shared<RecordingReader::Shared>();
  auto pf = NewPrefetcher(Small());
  auto r = WithReadAhead(std::make_unique<RecordingReader>(data, shared, /*delay_ms=*/5), pf);
  const size_t req = 128 << 10;  // as the kernel asks
  for (int64_t off = 0; off < static_cast<int64_t>(data.size()); off += req) {
    auto got = ClientRead(*r, *shared, off, req);
    size_t want = std::min<size_t>(req, data.size() - static_cast<size_t>(off));
    ASSERT_EQ(got.size(), want) << off;
    ASSERT_EQ(0, std::memcmp(got.data(), data.data() + off, want)) << off;
  }
  EXPECT_GT(shared->ahead_of_client.load(), 10);  // the store was read ahead of the client
  EXPECT_GE(shared->max_in_flight.load(), 2);     // and in parallel
  // Almost everything came in whole windows: few small direct reads.
  size_t small = 0;
  for (auto& [off, len] : shared->reads) small += len < (1u << 20);
  EXPECT_LE(small, 20u);
  auto past = ClientRead(*r, *shared, static_cast<int64_t>(data.size()), 10);
  EXPECT_TRUE(past.empty());
}

TEST(ReadAhead, RandomReadsGoStraightToTheStore) {
  const auto data = Pattern(32 << 20);
  auto shared = std::make_shared<RecordingReader::Shared>();
  auto pf = NewPrefetcher(Small());
  auto r = WithReadAhead(std::make_unique<RecordingReader>(data, shared), pf);
  std::mt19937 rng(7);
  size_t asked = 0;
  for (int i = 0; i < 200; ++i) {
    int64_t off = static_cast<int64_t>(rng() % (data.size() - 8192)) & ~int64_t{4095};
    auto got = ClientRead(*r, *shared, off, 4096);
    ASSERT_EQ(0, std::memcmp(got.data(), data.data() + off, got.size()));
    asked += 4096;
  }
  size_t served = 0;
  for (auto& [off, len] : shared->reads) served += len;
  EXPECT_LE(served, asked + (4u << 20));  // at most a stray window, not a read-ahead storm
}

TEST(ReadAhead, ReorderedConcurrentRequestsStillMatch) {
  // The kernel sends readahead requests on several threads: they arrive out of order.
  const auto data = Pattern(24 << 20);
  auto shared = std::make_shared<RecordingReader::Shared>();
  auto pf = NewPrefetcher(Small());
  auto r = WithReadAhead(std::make_unique<RecordingReader>(data, shared, 1), pf);
  const size_t req = 256 << 10;
  std::atomic<int64_t> next{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (;;) {
        int64_t off = next.fetch_add(static_cast<int64_t>(req));
        if (off >= static_cast<int64_t>(data.size())) return;
        std::vector<char> out(req);
        auto n = r->ReadAt(off, out.data(), req);
        if (!n.ok() || *n != req || std::memcmp(out.data(), data.data() + off, req) != 0) ++bad;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(ReadAhead, StoreErrorsReachTheReaderNeverWrongBytes) {
  const auto data = Pattern(16 << 20);
  const int64_t bad_byte = (9 << 20) + 77;
  auto shared = std::make_shared<RecordingReader::Shared>();
  auto pf = NewPrefetcher(Small());
  auto r = WithReadAhead(std::make_unique<RecordingReader>(data, shared, 0, bad_byte), pf);
  const size_t req = 128 << 10;
  for (int64_t off = 0; off < static_cast<int64_t>(data.size()); off += req) {
    std::vector<char> out(req);
    auto n = r->ReadAt(off, out.data(), req);
    bool covers = bad_byte >= off && bad_byte < off + static_cast<int64_t>(req);
    if (covers) {
      EXPECT_FALSE(n.ok()) << off;
    } else {
      ASSERT_TRUE(n.ok()) << off << ": " << n.status().ToString();
      ASSERT_EQ(0, std::memcmp(out.data(), data.data() + off, req)) << off;
    }
  }
}

TEST(ReadAhead, BudgetBoundsMemoryAndClosingReleasesIt) {
  const auto data = Pattern(32 << 20);
  auto shared = std::make_shared<RecordingReader::Shared>();
  auto o = Small(8);
  o.budget = 3 << 20;  // three windows across every open file
  auto pf = NewPrefetcher(o);
  auto a = WithReadAhead(std::make_unique<RecordingReader>(data, shared, 2), pf);
  auto b = WithReadAhead(std::make_unique<RecordingReader>(data, shared, 2), pf);
  size_t peak = 0;
  for (int64_t off = 0; off < (16 << 20); off += 128 << 10) {
    for (auto* r : {a.get(), b.get()}) {
      auto got = ClientRead(*r, *shared, off, 128 << 10);
      ASSERT_EQ(0, std::memcmp(got.data(), data.data() + off, got.size()));
      peak = std::max(peak, PrefetchedBytes(*pf));
    }
  }
  EXPECT_LE(peak, o.budget);
  EXPECT_GT(peak, 0u);
  a.reset();  // closed mid-stream, prefetches possibly in flight
  b.reset();
  for (int i = 0; i < 200 && PrefetchedBytes(*pf) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(PrefetchedBytes(*pf), 0u);
}

}  // namespace
}  // namespace glint::fs

namespace glint::fs {
namespace {

TEST(ReadAhead, IdleFilesYieldTheirBudgetToActiveOnes) {
  const auto data = Pattern(32 << 20);
  auto o = Small(4);
  o.budget = 4 << 20;      // four windows in all
  o.idle_seconds = 0.05;
  auto pf = NewPrefetcher(o);
  auto idle_shared = std::make_shared<RecordingReader::Shared>();
  auto idle = WithReadAhead(std::make_unique<RecordingReader>(data, idle_shared), pf);
  for (int64_t off = 0; off < (4 << 20); off += 128 << 10) ClientRead(*idle, *idle_shared, off, 128 << 10);
  for (int i = 0; i < 2000 && PrefetchedBytes(*pf) < o.budget; ++i) {  // up to 10 s on a loaded machine
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(PrefetchedBytes(*pf), o.budget);  // the first file holds it all, then goes quiet
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto active_shared = std::make_shared<RecordingReader::Shared>();
  auto active = WithReadAhead(std::make_unique<RecordingReader>(data, active_shared), pf);
  for (int64_t off = 0; off < (16 << 20); off += 128 << 10) {
    auto got = ClientRead(*active, *active_shared, off, 128 << 10);
    ASSERT_EQ(0, std::memcmp(got.data(), data.data() + off, got.size()));
    // A reader that pauses between requests (as a guest does), so the prefetch pool gets a
    // core even on a loaded machine; a budget the idle file still held would leave it none.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_GT(active_shared->ahead_of_client.load(), 3);  // it got read-ahead after all
  // The idle file still reads correctly (directly, or with new windows).
  auto again = ClientRead(*idle, *idle_shared, 4 << 20, 128 << 10);
  EXPECT_EQ(0, std::memcmp(again.data(), data.data() + (4 << 20), again.size()));
}

}  // namespace
}  // namespace glint::fs
