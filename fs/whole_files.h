// WholeFiles: glint-fs's background worker that keeps fully cached images as whole-image
// files (cache/chunk_cache.h), the local copies FUSE passthrough reads (fs/passthrough.h).
// HostCache hands it an image when a reader closes it or opens it; once every chunk is
// cached and verified the worker assembles the file, and after a restart it verifies a kept
// file again before passthrough may use it. One thread; an image is queued once at a time.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "cache/chunk_cache.h"

namespace glint::fs {

class WholeFiles {
 public:
  explicit WholeFiles(cache::ChunkCache& cache);
  ~WholeFiles();  // stops the worker (an assembly under way finishes first)
  // Looks at `image_id` (of `chunks` chunks) in the background.
  void Settle(const std::string& image_id, int64_t chunks);
  // Waits until nothing is queued or under way (tests, benchmarks).
  void Drain();

 private:
  void Run();
  void Work(const std::string& image_id, int64_t chunks);

  cache::ChunkCache& cache_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, int64_t>> queue_;
  std::set<std::string> queued_;
  bool busy_ = false, stop_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace glint::fs
