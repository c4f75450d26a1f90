#include "sql/connection_pool.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "sql/open.h"

namespace glint::sql {

// Idle connections kept open; more concurrent calls open extra ones that close after use.
constexpr size_t kMaxIdleConnections = 32;

ConnectionPool::ConnectionPool(ConnectionSpec spec, size_t max_open)
    : spec_(std::move(spec)), max_open_(max_open) {}

Result<std::unique_ptr<Db>> ConnectionPool::Acquire() {
  std::vector<std::unique_ptr<Db>> closed;  // closed by the other side; freed outside the lock
  {
    std::unique_lock<std::mutex> l(mu_);
    if (max_open_) freed_.wait(l, [&] { return !idle_.empty() || open_ < max_open_; });
    while (!idle_.empty()) {
      auto db = std::move(idle_.back());
      idle_.pop_back();
      if (!db->Closed()) return db;
      closed.push_back(std::move(db));
      --open_;
    }
    ++open_;
  }
  auto db = OpenDatabase(spec_);
  if (!db.ok()) {
    std::lock_guard<std::mutex> l(mu_);
    --open_;
    freed_.notify_one();
  }
  return db;
}

Result<std::unique_ptr<Db>> ConnectionPool::AcquireWithin(std::chrono::milliseconds deadline) {
  const auto give_up = std::chrono::steady_clock::now() + deadline;
  thread_local std::minstd_rand jitter(std::random_device{}());  // not a security use
  std::chrono::milliseconds wait{25};
  for (;;) {
    auto db = Acquire();
    if (db.ok() || db.status().code() != Status::Code::kUnavailable) return db;
    const auto now = std::chrono::steady_clock::now();
    if (now >= give_up) return db;
    // The last pause ends at the deadline, where one more try is made: the whole time is used.
    std::chrono::steady_clock::duration pause =
        wait / 2 + std::chrono::milliseconds(jitter() % static_cast<unsigned>(wait.count()));
    std::this_thread::sleep_for(std::min(pause, give_up - now));
    wait = std::min(wait * 2, std::chrono::milliseconds(400));
  }
}

void ConnectionPool::Release(std::unique_ptr<Db> db) {
  std::lock_guard<std::mutex> l(mu_);
  if (!db->Broken() && idle_.size() < kMaxIdleConnections) {
    idle_.push_back(std::move(db));
  } else {
    --open_;
  }
  freed_.notify_one();
}

void ConnectionPool::Backoff(int attempt) {
  // Jitter only: not a security use, and the clock is not what tests control here.
  thread_local std::minstd_rand jitter(std::random_device{}());
  int base_ms = 10 << std::min(attempt, 6);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms / 2 + static_cast<int>(jitter() % base_ms)));
}

}  // namespace glint::sql
