#include "fs/boot_prefetch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace glint::fs {

namespace {
std::string BootFile(const std::string& id) { return id + ".boot"; }
}  // namespace

BootRecorder::BootRecorder(BootSets& sets, std::string image_id, int64_t started)
    : sets_(sets), image_id_(std::move(image_id)), started_(started) {}

BootRecorder::~BootRecorder() {
  std::lock_guard<std::mutex> l(mu_);
  Flush();
}

void BootRecorder::Read(int64_t index) {
  std::lock_guard<std::mutex> l(mu_);
  if (flushed_) return;
  if (sets_.clock_.NowMicros() - started_ > static_cast<int64_t>(sets_.options_.window_seconds * 1e6)) {
    Flush();
    return;
  }
  if (read_.size() < sets_.options_.max_chunks) read_.insert(index);
}

void BootRecorder::Flush() {
  if (flushed_) return;
  flushed_ = true;
  if (!read_.empty()) sets_.Merge(image_id_, read_);
}

BootSets::BootSets(cache::ChunkCache& cache, BootOptions options, const Clock& clock)
    : cache_(cache), options_(options), clock_(clock) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Run(); });
}

BootSets::~BootSets() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::shared_ptr<BootRecorder> BootSets::StartRecording(const std::string& image_id) {
  return std::make_shared<BootRecorder>(*this, image_id, clock_.NowMicros());
}

std::vector<int64_t> BootSets::BootSet(const std::string& image_id) {
  std::vector<int64_t> out;
  auto text = cache_.GetMeta(BootFile(image_id));
  if (!text) return out;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_number_unsigned() && out.size() < options_.max_chunks) out.push_back(v.get<int64_t>());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The union of what earlier opens read and what this one read (a guest that boots
// differently adds to the set; nothing is forgotten yet beyond max_chunks).
void BootSets::Merge(const std::string& image_id, const std::set<int64_t>& read) {
  std::lock_guard<std::mutex> l(merge_mu_);
  std::vector<int64_t> kept = BootSet(image_id);
  std::set<int64_t> all(kept.begin(), kept.end());
  for (int64_t i : read) {
    if (all.size() >= options_.max_chunks) break;
    all.insert(i);
  }
  if (all.size() == kept.size()) return;
  Status s = cache_.PutMeta(BootFile(image_id), nlohmann::json(std::vector<int64_t>(all.begin(), all.end())).dump());
  if (!s.ok()) spdlog::warn("cache: cannot keep the boot set of {}: {}", image_id, s.ToString());
}

void BootSets::Prefetch(const std::string& image_id, const std::vector<int64_t>& indexes,
                        std::function<void(int64_t)> fetch) {
  auto shared = std::make_shared<std::function<void(int64_t)>>(std::move(fetch));
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (int64_t i : indexes) {
      if (cache_.Contains({image_id, i})) continue;
      queue_.push_back([shared, i] { (*shared)(i); });
      ++queued;
    }
  }
  if (queued) {
    spdlog::debug("cache: prefetching {} boot chunks of {}", queued, image_id);
    cv_.notify_all();
  }
}

void BootSets::Drain() {
  std::unique_lock<std::mutex> l(mu_);
  idle_cv_.wait(l, [&] { return queue_.empty() && running_ == 0; });
}

void BootSets::Run() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (stop_) return;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    l.unlock();
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::warn("cache: boot prefetch failed: {}", e.what());
    }
    l.lock();
    --running_;
    if (queue_.empty() && running_ == 0) idle_cv_.notify_all();
  }
}

}  // namespace glint::fs
