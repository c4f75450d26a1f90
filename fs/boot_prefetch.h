// BootSets: the learned boot prefetch. Each open of a cached image records which chunks
// it reads in its first `window_seconds` (its boot set: a guest reads much the same blocks
// at every boot); the record is merged into the image's kept boot set (<cache dir>/meta/
// <id>.boot) when the window has passed (at the first read after it, or when the file is
// closed), and the kept set is reported to the API (POST .../x-glint-boot-set, at most
// once per `report_interval_seconds` per image), where the reports of every host are
// merged. A report the interval holds back (or the API could not take) stays pending: a
// timer sends it once the interval has passed (checked every `timer_tick_seconds`), and a
// clean shutdown sends what is still pending (SendPendingReports, bounded by a short
// timeout). When an image is opened, the chunks of its kept boot set that the cache lacks
// are fetched in parallel ahead of the reader, and so are those of the API's merged set
// (asked for on a prefetch thread, so the open does not wait for it): a host that never
// booted the image prefetches what the others learned. The merged set is kept too
// (<cache dir>/meta/<id>.merged-boot, written whenever the API's answer changes) and used
// when the API cannot be asked, so a host restarted while the API is down still
// prefetches it; like the API's answer it is untrusted: only chunk indexes within the
// image are taken from it.
//
// StartRecording/Prefetch come from HostCache::Open, BootRecorder::Read from reads on
// libfuse worker threads; the prefetch threads (which also talk to the API) are BootSets'
// own; SendPendingReports from glint-fs's main thread once the mount is gone. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "cache/chunk_cache.h"

namespace glint::fs {

struct BootOptions {
  double window_seconds = 30;           // how long after an open its reads count as the boot
  int threads = 4;                      // parallel prefetch fetches
  size_t max_chunks = 4096;             // at most this many chunks in one boot set (16 GiB)
  double report_interval_seconds = 60;  // between two reports of one image (the API's rate)
  double timer_tick_seconds = 1;        // how often held-back reports are looked at
};

// The API's side (ImageView), called on the prefetch threads (and `report` at shutdown).
// `fetch`: the body of GET .../x-glint-boot-set, nullopt on 404. `report`: POSTs a body,
// returns the status; `timeout_ms` > 0 bounds the call (at shutdown), 0 means the usual
// timeouts. Either may be empty (no API: local boot sets only).
struct BootSetRemote {
  std::function<Result<std::optional<std::string>>(const std::string& image_id)> fetch;
  std::function<Result<int>(const std::string& image_id, const std::string& body, int timeout_ms)> report;
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
  BootSets(cache::ChunkCache& cache, BootOptions options, const Clock& clock = SystemClock(), BootSetRemote remote = {});
  ~BootSets();

  std::shared_ptr<BootRecorder> StartRecording(const std::string& image_id);
  // The image's kept boot set, ascending.
  std::vector<int64_t> BootSet(const std::string& image_id);
  // Runs `fetch(index)` on the prefetch threads for each of `indexes` the cache lacks.
  void Prefetch(const std::string& image_id, const std::vector<int64_t>& indexes,
                std::function<void(int64_t)> fetch);
  // On open: prefetches the kept boot set now, then (on a prefetch thread) the API's
  // merged set, each chunk below `chunk_count` that the cache lacks.
  void PrefetchLearned(const std::string& image_id, int64_t chunk_count, std::function<void(int64_t)> fetch);
  // This host's id in its reports: random, kept in the cache directory (meta/host-id).
  std::string HostId();
  // Waits until no prefetch is queued or running (tests, shutdown).
  void Drain();
  // At a clean shutdown: stops the prefetch threads (queued prefetches are dropped), then
  // sends the reports still pending, all within `seconds` (an unreachable API delays the
  // exit no longer); what is left unsent stays in the kept boot sets for a later run.
  void SendPendingReports(double seconds);

 private:
  friend class BootRecorder;
  void Merge(const std::string& image_id, const std::set<int64_t>& read);
  void Run();
  void Enqueue(std::function<void()> job);
  // On a prefetch thread: the API's merged set, kept; the kept one when the API cannot
  // be asked; empty when there is none or it is unreadable.
  std::vector<int64_t> FetchRemote(const std::string& image_id, int64_t chunk_count);
  // The chunk indexes of a merged set (the API's answer or the kept copy of it), at most
  // max_chunks of them, each below chunk_count; nullopt when `text` is not a merged set
  // for this cache's chunk size.
  std::optional<std::vector<int64_t>> ParseMerged(const std::string& text, int64_t chunk_count) const;
  // Keeps `chunks` as the image's merged set (none: the kept copy goes).
  void KeepMerged(const std::string& image_id, const std::vector<int64_t>& chunks);
  // On a prefetch thread: reports the kept boot set, unless reported within the interval.
  void Report(const std::string& image_id);
  // Reports the image's kept boot set now if it is pending; `timeout_ms` as in
  // BootSetRemote::report. It stays pending when the API could not take it (unreachable,
  // 429, 5xx).
  void SendReport(const std::string& image_id, int timeout_ms);
  void StopThreads();
  // The timer thread: queues Report for every pending image whose interval has passed.
  void RunTimer();

  cache::ChunkCache& cache_;
  const BootOptions options_;
  const Clock& clock_;
  const BootSetRemote remote_;
  std::mutex report_mu_;
  std::map<std::string, int64_t> reported_at_;  // image -> when its set was last reported
  std::map<std::string, uint64_t> pending_;     // image -> merges since its set was last reported
  std::set<std::string> timer_queued_;          // queued by the timer, not yet run
  std::string host_id_;
  std::mutex merge_mu_;
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_, timer_cv_;
  std::deque<std::function<void()>> queue_;
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
  std::thread timer_;
};

}  // namespace glint::fs
