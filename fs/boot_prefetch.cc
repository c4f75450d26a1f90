#include "fs/boot_prefetch.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/ids.h"

namespace glint::fs {

namespace {
std::string BootFile(const std::string& id) { return id + ".boot"; }
std::string MergedFile(const std::string& id) { return id + ".merged-boot"; }
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

BootSets::BootSets(cache::ChunkCache& cache, BootOptions options, const Clock& clock, BootSetRemote remote)
    : cache_(cache), options_(options), clock_(clock), remote_(std::move(remote)) {
  for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Run(); });
  if (remote_.report) timer_ = std::thread([this] { RunTimer(); });
}

BootSets::~BootSets() { StopThreads(); }

void BootSets::StopThreads() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  timer_cv_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  if (timer_.joinable()) timer_.join();
}

void BootSets::RunTimer() {
  const auto tick = std::chrono::duration<double>(options_.timer_tick_seconds);
  const auto interval = static_cast<int64_t>(options_.report_interval_seconds * 1e6);
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      if (timer_cv_.wait_for(l, tick, [&] { return stop_; })) return;
    }
    std::vector<std::string> due;
    {
      std::lock_guard<std::mutex> l(report_mu_);
      const int64_t now = clock_.NowMicros();
      for (const auto& [id, generation] : pending_) {
        auto at = reported_at_.find(id);
        // Never reported: the merge that made it pending queued its report already.
        if (at == reported_at_.end() || now - at->second < interval || timer_queued_.count(id)) continue;
        timer_queued_.insert(id);
        due.push_back(id);
      }
    }
    for (const auto& id : due) {
      Enqueue([this, id] {
        {
          std::lock_guard<std::mutex> l(report_mu_);
          timer_queued_.erase(id);
        }
        Report(id);
      });
    }
  }
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
// differently adds to the set; nothing is forgotten yet beyond max_chunks). The kept set
// goes to the API, at most once per report interval.
void BootSets::Merge(const std::string& image_id, const std::set<int64_t>& read) {
  {
    std::lock_guard<std::mutex> l(merge_mu_);
    std::vector<int64_t> kept = BootSet(image_id);
    std::set<int64_t> all(kept.begin(), kept.end());
    for (int64_t i : read) {
      if (all.size() >= options_.max_chunks) break;
      all.insert(i);
    }
    if (all.size() != kept.size()) {
      Status s = cache_.PutMeta(BootFile(image_id), nlohmann::json(std::vector<int64_t>(all.begin(), all.end())).dump());
      if (!s.ok()) spdlog::warn("cache: cannot keep the boot set of {}: {}", image_id, s.ToString());
    }
  }
  if (!remote_.report) return;
  {
    std::lock_guard<std::mutex> l(report_mu_);
    ++pending_[image_id];
  }
  Enqueue([this, image_id] { Report(image_id); });  // Report keeps the rate
}

std::string BootSets::HostId() {
  std::lock_guard<std::mutex> l(report_mu_);
  if (!host_id_.empty()) return host_id_;
  auto kept = cache_.GetMeta("host-id");
  if (kept && IsUuid(*kept)) {
    host_id_ = *kept;
  } else {
    host_id_ = NewUuid();
    Status s = cache_.PutMeta("host-id", host_id_);
    if (!s.ok()) spdlog::warn("cache: cannot keep this host's id: {}", s.ToString());
  }
  return host_id_;
}

void BootSets::Report(const std::string& image_id) {
  const int64_t now = clock_.NowMicros();
  {
    std::lock_guard<std::mutex> l(report_mu_);
    if (!pending_.count(image_id)) return;
    auto it = reported_at_.find(image_id);
    if (it != reported_at_.end() && now - it->second < static_cast<int64_t>(options_.report_interval_seconds * 1e6)) {
      return;  // stays pending: the next merge after the interval, or the shutdown, sends it
    }
    reported_at_[image_id] = now;
  }
  SendReport(image_id, 0);
}

void BootSets::SendReport(const std::string& image_id, int timeout_ms) {
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> l(report_mu_);
    auto it = pending_.find(image_id);
    if (it == pending_.end()) return;
    generation = it->second;
  }
  std::vector<int64_t> set = BootSet(image_id);
  bool done = set.empty();
  if (!set.empty()) {
    nlohmann::json body = {{"host", HostId()}, {"chunk_size", cache_.chunk_size()}, {"chunks", set}};
    auto status = remote_.report(image_id, body.dump(), timeout_ms);
    if (!status.ok()) {
      spdlog::warn("cache: cannot report the boot set of {}: {}", image_id, status.status().ToString());
    } else if (*status == 204) {
      spdlog::info("cache: reported the boot set of {} ({} chunks)", image_id, set.size());
      done = true;
    } else {
      // 429 (too soon for the API) and 5xx may pass; any other refusal would not.
      done = *status != 429 && *status < 500;
      spdlog::warn("cache: the API answered HTTP {} to the boot set of {}{}", *status, image_id,
                   done ? "" : "; kept for a later report");
    }
  }
  if (!done) return;
  std::lock_guard<std::mutex> l(report_mu_);
  auto it = pending_.find(image_id);
  if (it != pending_.end() && it->second == generation) pending_.erase(it);  // else merged since: pending still
}

void BootSets::SendPendingReports(double seconds) {
  StopThreads();  // no report in flight on a prefetch thread any more
  if (!remote_.report) return;
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> l(report_mu_);
    for (const auto& [id, generation] : pending_) ids.push_back(id);
  }
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      spdlog::warn("cache: {} boot set reports left unsent at shutdown (no time left)", ids.size() - i);
      return;
    }
    SendReport(ids[i], static_cast<int>(left));
  }
}

std::optional<std::vector<int64_t>> BootSets::ParseMerged(const std::string& text, int64_t chunk_count) const {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("chunks") || !j["chunks"].is_array() || !j.contains("chunk_size") ||
      !j["chunk_size"].is_number_unsigned() || j["chunk_size"].get<uint64_t>() != cache_.chunk_size()) {
    return std::nullopt;
  }
  std::vector<int64_t> out;
  for (const auto& v : j["chunks"]) {
    if (out.size() >= options_.max_chunks) break;
    if (v.is_number_unsigned() && v.get<uint64_t>() < static_cast<uint64_t>(chunk_count)) out.push_back(v.get<int64_t>());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void BootSets::KeepMerged(const std::string& image_id, const std::vector<int64_t>& chunks) {
  if (chunks.empty()) return cache_.RemoveMeta(MergedFile(image_id));
  const std::string text = nlohmann::json{{"chunk_size", cache_.chunk_size()}, {"chunks", chunks}}.dump();
  if (cache_.GetMeta(MergedFile(image_id)) == text) return;
  Status s = cache_.PutMeta(MergedFile(image_id), text);
  if (!s.ok()) spdlog::warn("cache: cannot keep the merged boot set of {}: {}", image_id, s.ToString());
}

std::vector<int64_t> BootSets::FetchRemote(const std::string& image_id, int64_t chunk_count) {
  auto body = remote_.fetch(image_id);
  if (!body.ok()) {
    // The API cannot be asked: the merged set it gave last time, as untrusted as its answer.
    std::optional<std::vector<int64_t>> kept;
    if (auto text = cache_.GetMeta(MergedFile(image_id))) kept = ParseMerged(*text, chunk_count);
    if (!kept || kept->empty()) {
      spdlog::warn("cache: cannot ask for the boot set of {}: {}", image_id, body.status().ToString());
      return {};
    }
    spdlog::info("cache: cannot ask for the boot set of {} ({}); prefetching the kept merged boot set ({} chunks)",
                 image_id, body.status().ToString(), kept->size());
    return *kept;
  }
  if (!body->has_value()) {  // none for this image (it has no data, or is no longer readable)
    KeepMerged(image_id, {});
    return {};
  }
  // Whatever the API answers, only chunk indexes of this image are taken.
  auto chunks = ParseMerged(**body, chunk_count);
  if (!chunks) {
    spdlog::warn("cache: the API's boot set of {} is malformed", image_id);
    return {};
  }
  KeepMerged(image_id, *chunks);
  return *chunks;
}

void BootSets::PrefetchLearned(const std::string& image_id, int64_t chunk_count, std::function<void(int64_t)> fetch) {
  auto shared = std::make_shared<std::function<void(int64_t)>>(std::move(fetch));
  std::vector<int64_t> local = BootSet(image_id);
  local.erase(std::remove_if(local.begin(), local.end(), [&](int64_t i) { return i >= chunk_count; }), local.end());
  if (!local.empty()) Prefetch(image_id, local, [shared](int64_t i) { (*shared)(i); });
  if (!remote_.fetch) return;
  Enqueue([this, image_id, chunk_count, shared, local] {
    std::vector<int64_t> remote = FetchRemote(image_id, chunk_count), extra;
    std::set_difference(remote.begin(), remote.end(), local.begin(), local.end(), std::back_inserter(extra));
    if (!extra.empty()) Prefetch(image_id, extra, [shared](int64_t i) { (*shared)(i); });
  });
}

void BootSets::Enqueue(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
    queue_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void BootSets::Prefetch(const std::string& image_id, const std::vector<int64_t>& indexes,
                        std::function<void(int64_t)> fetch) {
  auto shared = std::make_shared<std::function<void(int64_t)>>(std::move(fetch));
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stop_) return;
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
