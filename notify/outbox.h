// Outbox: notifications waiting to be published. Offer() never blocks and never fails the
// caller (an API request): it queues the message in bounded memory, or drops and counts it
// when the queue is full. One background thread publishes through a Sink in order; a
// failed publish is retried with exponential backoff (the message stays first in line), so
// a broker that is down for a while loses nothing that fits in the queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "notify/message.h"

namespace glint::notify {

// Where messages go (RabbitMQ, the log, a test's list). Called from the outbox's thread
// only. Ok means the message was accepted (for RabbitMQ: confirmed by the broker).
class Sink {
 public:
  virtual ~Sink() = default;
  [[nodiscard]] virtual Status Publish(const Outgoing& message) = 0;
};

struct OutboxStats {
  uint64_t sent = 0;
  uint64_t dropped = 0;   // the queue was full
  uint64_t failures = 0;  // publish attempts that failed (each was retried)
  size_t queued = 0;
};

struct OutboxOptions {
  size_t capacity = 10000;
  std::chrono::milliseconds first_backoff{100};
  std::chrono::milliseconds max_backoff{5000};
  // How long the destructor keeps publishing what is queued before it gives up.
  std::chrono::milliseconds drain_on_close{2000};
};

class Outbox {
 public:
  Outbox(std::unique_ptr<Sink> sink, OutboxOptions options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Queues `message`; false (and counted as dropped) when the queue is full.
  bool Offer(Outgoing message);
  OutboxStats Stats() const;
  // Waits until nothing is queued or `timeout` passes; true when empty (tests, shutdown).
  bool WaitEmpty(std::chrono::milliseconds timeout);

 private:
  void Run();
  void NoteDrop();

  std::unique_ptr<Sink> sink_;
  const OutboxOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;     // something was queued, or stop
  std::condition_variable emptied_;  // the queue became empty
  std::deque<Outgoing> queue_;
  OutboxStats stats_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point stop_deadline_;
  std::chrono::steady_clock::time_point last_drop_log_{};
  std::thread thread_;  // last: starts after everything it uses exists
};

}  // namespace glint::notify
