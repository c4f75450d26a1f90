#include "fs/readahead.h"

#include <algorithm>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <mutex>
#include <thread>
#include <vector>

namespace glint::fs {

// A reader whose prefetched windows can be taken back when it has gone idle.
class Trimmable {
 public:
  virtual ~Trimmable() = default;
  // Drops the windows if the reader was last read before `cutoff` (and is not busy now).
  virtual void TrimIfIdle(std::chrono::steady_clock::time_point cutoff) = 0;
};

class Prefetcher {
 public:
  explicit Prefetcher(const ReadAheadOptions& o) : options_(o) {
    for (int i = 0; i < std::max(1, o.threads); ++i) threads_.emplace_back([this] { Run(); });
  }
  ~Prefetcher() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  const ReadAheadOptions& options() const { return options_; }

  // Reserves `bytes` of the budget; false when prefetching now would exceed it.
  bool Reserve(size_t bytes) {
    size_t used = used_.load();
    do {
      if (used + bytes > options_.budget) return false;
    } while (!used_.compare_exchange_weak(used, used + bytes));
    return true;
  }
  void Release(size_t bytes) { used_.fetch_sub(bytes); }
  size_t used() const { return used_.load(); }

  void Register(Trimmable* r) {
    std::lock_guard<std::mutex> l(readers_mu_);
    readers_.insert(r);
  }
  void Unregister(Trimmable* r) {
    std::lock_guard<std::mutex> l(readers_mu_);
    readers_.erase(r);
  }
  // Reserve, and when the budget is spent, first take it back from idle files (a guest
  // that streamed its image at boot and now sits with the file open).
  bool ReserveOrTrim(size_t bytes, Trimmable* self) {
    if (Reserve(bytes)) return true;
    auto cutoff = std::chrono::steady_clock::now() -
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(options_.idle_seconds));
    {
      std::lock_guard<std::mutex> l(readers_mu_);
      for (Trimmable* r : readers_) {
        if (r != self) r->TrimIfIdle(cutoff);
      }
    }
    return Reserve(bytes);
  }

  void Submit(std::function<void()> task) {
    {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

 private:
  void Run() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, nothing left
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  ReadAheadOptions options_;
  std::atomic<size_t> used_{0};
  std::mutex readers_mu_;
  std::set<Trimmable*> readers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

std::shared_ptr<Prefetcher> NewPrefetcher(const ReadAheadOptions& options) {
  return std::make_shared<Prefetcher>(options);
}

size_t PrefetchedBytes(const Prefetcher& prefetcher) { return prefetcher.used(); }

namespace {

// One prefetched window of the file: filled by a pool thread, then read by any number of
// requests. Holds its share of the budget until the last reference goes. The prefetcher
// outlives it: readers hold the prefetcher, and its destructor drains queued tasks first.
struct Window {
  Window(Prefetcher* p, int64_t at, size_t bytes) : prefetcher(p), start(at), reserved(bytes) {}
  ~Window() { prefetcher->Release(reserved); }
  Prefetcher* prefetcher;
  int64_t start;    // file offset of the window
  size_t reserved;  // its length (shorter only for the file's last window)
  std::mutex mu;
  std::condition_variable cv;
  bool started = false;
  bool done = false;  // data and status are final (empty data when cancelled unstarted)
  Status status;
  std::vector<char> data;

  // Claims the read (false if someone else did or it was cancelled).
  bool Claim() {
    std::lock_guard<std::mutex> l(mu);
    if (started || done) return false;
    started = true;
    return true;
  }
  // Reads the window from the store (after a successful Claim) and wakes its waiters.
  void Fill(store::Reader& base) {
    std::vector<char> buf(reserved);
    size_t got = 0;
    Status st;
    while (got < reserved) {
      auto n = base.ReadAt(start + static_cast<int64_t>(got), buf.data() + got, reserved - got);
      if (!n.ok()) {
        st = n.status();
        break;
      }
      if (*n == 0) break;
      got += *n;
    }
    buf.resize(got);
    std::lock_guard<std::mutex> l(mu);
    data = std::move(buf);
    status = st;
    done = true;
    cv.notify_all();
  }
};

class ReadAheadReader final : public store::Reader, public Trimmable {
 public:
  ReadAheadReader(std::unique_ptr<store::Reader> base, std::shared_ptr<Prefetcher> p)
      : base_(std::move(base)), prefetcher_(std::move(p)), window_(prefetcher_->options().window) {
    prefetcher_->Register(this);
  }

  ~ReadAheadReader() override {
    prefetcher_->Unregister(this);  // first: no trimmer may reach this reader afterwards
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [index, w] : windows_) Cancel(*w);
  }

  void TrimIfIdle(std::chrono::steady_clock::time_point cutoff) override {
    std::unique_lock<std::mutex> l(mu_, std::try_to_lock);  // busy: not idle (and no lock cycle)
    if (!l || last_read_ >= cutoff || windows_.empty()) return;
    for (auto& [index, w] : windows_) Cancel(*w);
    windows_.clear();
    streak_ = 0;
  }

  int64_t size() const override { return base_->size(); }

  Result<size_t> ReadAt(int64_t offset, char* buf, size_t len) override {
    const int64_t size = base_->size();
    if (offset >= size || len == 0) return size_t{0};
    len = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(len), size - offset));
    std::vector<std::shared_ptr<Window>> parts;
    const int64_t first = offset / static_cast<int64_t>(window_);
    const int64_t last = (offset + static_cast<int64_t>(len) - 1) / static_cast<int64_t>(window_);
    {
      std::lock_guard<std::mutex> l(mu_);
      last_read_ = std::chrono::steady_clock::now();
      Observe(offset, len);
      if (streak_ >= kTrigger) Schedule(first);
      for (int64_t i = first; i <= last; ++i) {
        auto it = windows_.find(i);
        if (it == windows_.end()) break;
        parts.push_back(it->second);
      }
    }
    // Served from windows as far as they cover the request; the rest straight from the store.
    size_t got = 0;
    for (auto& w : parts) {
      // A window still queued behind other files' reads is read here and now instead:
      // a request never waits for the pool.
      if (w->Claim()) w->Fill(*base_);
      std::unique_lock<std::mutex> wl(w->mu);
      w->cv.wait(wl, [&] { return w->done; });
      if (!w->status.ok()) break;  // read it directly below (and report the error from there)
      int64_t index = (offset + static_cast<int64_t>(got)) / static_cast<int64_t>(window_);
      size_t at = static_cast<size_t>(offset + static_cast<int64_t>(got) - index * static_cast<int64_t>(window_));
      if (at >= w->data.size()) break;
      size_t n = std::min(len - got, w->data.size() - at);
      std::memcpy(buf + got, w->data.data() + at, n);
      got += n;
      if (w->data.size() < w->reserved) break;  // a short window: the rest directly
    }
    while (got < len) {
      auto n = base_->ReadAt(offset + static_cast<int64_t>(got), buf + got, len - got);
      if (!n.ok()) return n.status();
      if (*n == 0) break;
      got += *n;
    }
    return got;
  }

 private:
  static constexpr size_t kTrigger = 2 << 20;  // sequential bytes before read-ahead starts

  // Sequential-access detection that tolerates the kernel's reordering of concurrent
  // requests (its own read-ahead keeps several MiB in flight): a read within the span the
  // windows cover around where the last one ended continues the streak.
  void Observe(int64_t offset, size_t len) {
    int64_t slack = static_cast<int64_t>(window_) * (prefetcher_->options().depth + 1);
    if (offset >= next_ - slack && offset <= next_ + slack) {
      streak_ += len;
    } else {
      streak_ = 0;
      for (auto& [index, w] : windows_) Cancel(*w);
      windows_.clear();
    }
    next_ = std::max(next_, offset + static_cast<int64_t>(len));
    if (streak_ == 0) next_ = offset + static_cast<int64_t>(len);
  }

  // Keeps windows [current, current + depth] scheduled and drops those behind.
  void Schedule(int64_t current) {
    while (!windows_.empty() && windows_.begin()->first < current - 1) {
      Cancel(*windows_.begin()->second);
      windows_.erase(windows_.begin());
    }
    const int64_t size = base_->size();
    const int64_t end = current + prefetcher_->options().depth;
    for (int64_t i = current; i <= end; ++i) {
      int64_t start = i * static_cast<int64_t>(window_);
      if (start >= size) break;
      if (windows_.count(i)) continue;
      size_t bytes = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(window_), size - start));
      if (!prefetcher_->ReserveOrTrim(bytes, this)) break;  // over budget: the reader reads directly
      auto w = std::make_shared<Window>(prefetcher_.get(), start, bytes);
      windows_.emplace(i, w);
      std::shared_ptr<store::Reader> base = base_;
      prefetcher_->Submit([w, base] {
        if (w->Claim()) w->Fill(*base);
      });
    }
  }

  // A window nobody will read: skipped if its read has not started (a started one just
  // finishes; requests already waiting on it get its data).
  static void Cancel(Window& w) {
    std::lock_guard<std::mutex> l(w.mu);
    if (!w.started && !w.done) {
      w.done = true;
      w.cv.notify_all();
    }
  }

  std::shared_ptr<store::Reader> base_;  // shared with in-flight prefetches
  std::shared_ptr<Prefetcher> prefetcher_;
  const size_t window_;
  std::mutex mu_;
  std::map<int64_t, std::shared_ptr<Window>> windows_;
  int64_t next_ = 0;
  size_t streak_ = 0;
  std::chrono::steady_clock::time_point last_read_{};
};

}  // namespace

std::unique_ptr<store::Reader> WithReadAhead(std::unique_ptr<store::Reader> base,
                                             std::shared_ptr<Prefetcher> prefetcher) {
  return std::make_unique<ReadAheadReader>(std::move(base), std::move(prefetcher));
}

}  // namespace glint::fs
