// BootSets: the learned boot prefetch, first step (local to this host). Each open of a
// cached image records which chunks it reads in its first `window_seconds` (its boot set:
// a guest reads much the same blocks at every boot); the record is merged into the
// image's kept boot set (<cache dir>/meta/<id>.boot) when the window has passed (at the
// first read after it, or when the file is closed). When an image is opened, the chunks
// of its kept boot set that the cache lacks are fetched in parallel ahead of the reader.
// Not yet: reporting records to the API and merging them across hosts.
//
// StartRecording/Prefetch come from HostCache::Open, BootRecorder::Read from reads on
// libfuse worker threads; the prefetch threads are BootSets' own. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "cache/chunk_cache.h"

namespace glint::fs {

struct BootOptions {
  double window_seconds = 30;  // how long after an open its reads count as the boot
  int threads = 4;             // parallel prefetch fetches
  size_t max_chunks = 4096;    // at most this many chunks in one boot set (16 GiB)
};

class BootSets;

// The chunks one open reads in its first window.
class BootRecorder {
 public:
  BootRecorder(BootSets& sets, std::string image_id, int64_t started);
  ~BootRecorder();  // flushes
  void Read(int64_t index);

 private:
  void Flush();  // mu_ held
  BootSets& sets_;
  const std::string image_id_;
  const int64_t started_;
  std::mutex mu_;
  std::set<int64_t> read_;
  bool flushed_ = false;
};

class BootSets {
 public:
  BootSets(cache::ChunkCache& cache, BootOptions options, const Clock& clock = SystemClock());
  ~BootSets();

  std::shared_ptr<BootRecorder> StartRecording(const std::string& image_id);
  // The image's kept boot set, ascending.
  std::vector<int64_t> BootSet(const std::string& image_id);
  // Runs `fetch(index)` on the prefetch threads for each of `indexes` the cache lacks.
  void Prefetch(const std::string& image_id, const std::vector<int64_t>& indexes,
                std::function<void(int64_t)> fetch);
  // Waits until no prefetch is queued or running (tests, shutdown).
  void Drain();

 private:
  friend class BootRecorder;
  void Merge(const std::string& image_id, const std::set<int64_t>& read);
  void Run();

  cache::ChunkCache& cache_;
  const BootOptions options_;
  const Clock& clock_;
  std::mutex merge_mu_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace glint::fs
