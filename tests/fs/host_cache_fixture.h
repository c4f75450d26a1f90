// Shared by the host cache's unit tests (host_cache_test.cc, boot_prefetch_test.cc): an
// image in memory, a data source over it that counts reads, the manifest the API would
// serve, and a fixture making a HostCache in a temporary directory.
#pragma once

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

namespace glint::fs::testing_host {

using cache::ChunkCache;
using cache::ChunkCacheOptions;
using cache::kChunkSize;
using cache::Sha256Hex;

inline const std::string kId = "7a11c0de-0000-4000-8000-00000000000a";
constexpr int64_t kSize = (10 << 20) + 12345;  // three chunks, the last one short

// A data source over memory that counts store reads and can serve one tampered byte.
class MemorySource final : public DataSource {
 public:
  explicit MemorySource(std::vector<char> data) : data_(std::move(data)) {}
  std::atomic<int> reads{0};
  std::atomic<int> opens{0};
  std::atomic<int> chunk_opens{0};  // of those, for whole-chunk fetches (no read-ahead)
  std::atomic<int64_t> tamper_at{-1};
  std::atomic<bool> down{false};

  Result<std::unique_ptr<store::Reader>> Open(const ImageEntry&) override {
    if (down) return Status::Unavailable("store is down");
    ++opens;
    return std::unique_ptr<store::Reader>(new Reader(*this));
  }
  Result<std::unique_ptr<store::Reader>> OpenForChunks(const ImageEntry& image) override {
    if (!down) ++chunk_opens;
    return Open(image);
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

inline std::vector<char> ImageData() {
  std::vector<char> d(kSize);
  std::mt19937 rng(1);
  for (auto& c : d) c = static_cast<char>(rng());
  return d;
}

inline ImageEntry Entry() {
  ImageEntry e;
  e.id = kId;
  e.size = kSize;
  e.status = "active";
  e.fields["os_hash_algo"] = "sha512";
  e.fields["os_hash_value"] = std::string(128, 'e');
  return e;
}

// The manifest the API would serve for `data`, built here.
inline std::string ManifestOf(const std::vector<char>& data) {
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

inline std::vector<char> ReadAll(store::Reader& r, size_t request = 1 << 20) {
  std::vector<char> out(static_cast<size_t>(r.size()));
  for (size_t at = 0; at < out.size(); at += request) {
    auto n = r.ReadAt(static_cast<int64_t>(at), out.data() + at, std::min(request, out.size() - at));
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok()) break;
  }
  return out;
}


inline bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}


}  // namespace glint::fs::testing_host
