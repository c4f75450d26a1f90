// ConnectionPool: the connections of one database, one per concurrently running call.
// The catalog and the identity store run each call inside WithDb, from any worker thread;
// a connection (and its statement cache) is used by one thread at a time. WithDb runs the
// call again, a bounded number of times, when the database rolled it back (deadlock,
// Galera certification conflict, lock wait timeout) or the connection was lost before a
// commit was asked for; a connection lost during a commit is reported (Unavailable),
// never retried blindly, since the commit may have happened. A failover (the database
// behind a balancer going away) is ridden out: idle connections the other side closed are
// dropped when taken, not used, and a connection that cannot be opened is tried again with
// a growing wait for up to kConnectDeadline (the balancer keeps sending new connections to
// the server that went away until its health check marks it down).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "common/status.h"
#include "sql/connection_url.h"
#include "sql/db.h"

namespace glint::sql {

class ConnectionPool {
 public:
  // Attempts of one call, the first included.
  static constexpr int kMaxAttempts = 5;
  // How long one call keeps trying to open a connection while the database cannot be
  // reached (Unavailable), before it answers so: a few health-check intervals, well under
  // a client's timeout.
  static constexpr std::chrono::milliseconds kConnectDeadline{5000};

  // `max_open`: connections open at once (0: unbounded; 1 for a private in-memory
  // database, which each new connection would see empty).
  explicit ConnectionPool(ConnectionSpec spec, size_t max_open = 0);

  // Runs fn(sql::Db&) on an idle connection (a new one when none is idle) and gives the
  // connection back afterwards. `fn` may run more than once: it must start from scratch
  // (clear what it collects) each time.
  template <typename Fn>
  Status WithDb(Fn&& fn) {
    const auto start = std::chrono::steady_clock::now();
    for (int attempt = 1;; ++attempt) {
      auto db = AcquireWithin(kConnectDeadline);
      if (!db.ok()) return db.status();
      Status s = fn(**db);
      Failure failure = (*db)->LastFailure();
      Release(std::move(db).value());
      if (s.ok() || !Retryable(failure)) return s;
      // A node that cannot serve stays so until the proxy moves its clients: tried for as
      // long as opening a connection is; other failures a few times.
      if (failure == Failure::kNodeNotReady ? std::chrono::steady_clock::now() - start >= kConnectDeadline
                                            : attempt >= kMaxAttempts) {
        return s;
      }
      Backoff(attempt);
    }
  }

  const ConnectionSpec& spec() const { return spec_; }
  // An idle connection that is still open, else a new one (one try).
  Result<std::unique_ptr<Db>> Acquire();
  // Acquire, tried again while opening fails with Unavailable, until `deadline` has passed.
  Result<std::unique_ptr<Db>> AcquireWithin(std::chrono::milliseconds deadline);
  // Keeps the connection for reuse, up to a bound; beyond it, or when it is broken, the
  // connection closes.
  void Release(std::unique_ptr<Db> db);

 private:
  static bool Retryable(Failure f) {
    return f == Failure::kRetryable || f == Failure::kLostBeforeCommit || f == Failure::kNodeNotReady;
  }
  // A short randomized wait, growing with the attempt, so that two conflicting callers
  // do not collide again at once.
  static void Backoff(int attempt);

  const ConnectionSpec spec_;
  const size_t max_open_;
  std::mutex mu_;
  std::condition_variable freed_;
  size_t open_ = 0;
  std::vector<std::unique_ptr<Db>> idle_;
};

}  // namespace glint::sql
