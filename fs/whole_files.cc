#include "fs/whole_files.h"

#include <spdlog/spdlog.h>

namespace glint::fs {

WholeFiles::WholeFiles(cache::ChunkCache& cache) : cache_(cache), thread_([this] { Run(); }) {}

WholeFiles::~WholeFiles() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void WholeFiles::Settle(const std::string& image_id, int64_t chunks) {
  if (chunks <= 0 || cache_.CachedChunks(image_id) != static_cast<size_t>(chunks) ||
      cache_.ImageFile(image_id, chunks)) {
    return;  // not whole yet, or done
  }
  std::lock_guard<std::mutex> l(mu_);
  if (stop_ || !queued_.insert(image_id).second) return;
  queue_.emplace_back(image_id, chunks);
  cv_.notify_all();
}

void WholeFiles::Drain() {
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [&] { return stop_ || (queue_.empty() && !busy_); });
}

void WholeFiles::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto [id, chunks] = queue_.front();
    queue_.pop_front();
    busy_ = true;
    l.unlock();
    Work(id, chunks);
    l.lock();
    queued_.erase(id);
    busy_ = false;
    cv_.notify_all();
  }
}

void WholeFiles::Work(const std::string& image_id, int64_t chunks) {
  // Chunks kept from before a restart are checked once more before the kernel reads them.
  Status s = cache_.VerifyImage(image_id);
  if (s.ok() && !cache_.ImageFile(image_id, chunks)) s = cache_.AssembleImage(image_id, chunks);
  if (!s.ok()) {
    spdlog::warn("cache: image {} not kept whole: {}", image_id, s.ToString());
  } else if (cache_.ImageFile(image_id, chunks)) {
    spdlog::info("cache: image {} is whole on disk ({} chunks)", image_id, chunks);
  }
}

}  // namespace glint::fs
