#include "notify/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace glint::notify {

Outbox::Outbox(std::unique_ptr<Sink> sink, OutboxOptions options)
    : sink_(std::move(sink)), options_(options), thread_([this] { Run(); }) {}

Outbox::~Outbox() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
    stop_deadline_ = std::chrono::steady_clock::now() + options_.drain_on_close;
  }
  wake_.notify_all();
  thread_.join();
  std::lock_guard<std::mutex> l(mu_);
  if (!queue_.empty()) {
    spdlog::warn("notifications: {} not published at shutdown (the broker did not take them in time)",
                 queue_.size());
  }
}

bool Outbox::Offer(Outgoing message) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.size() >= options_.capacity) {
      NoteDrop();
      return false;
    }
    queue_.push_back(std::move(message));
  }
  wake_.notify_one();
  return true;
}

void Outbox::NoteDrop() {  // mu_ held
  ++stats_.dropped;
  auto now = std::chrono::steady_clock::now();
  if (now - last_drop_log_ >= std::chrono::seconds(10)) {
    last_drop_log_ = now;
    spdlog::warn("notifications: queue full ({} waiting); {} dropped so far", queue_.size(), stats_.dropped);
  }
}

OutboxStats Outbox::Stats() const {
  std::lock_guard<std::mutex> l(mu_);
  OutboxStats s = stats_;
  s.queued = queue_.size();
  return s;
}

bool Outbox::WaitEmpty(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return emptied_.wait_for(l, timeout, [&] { return queue_.empty(); });
}

void Outbox::Run() {
  auto backoff = options_.first_backoff;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    wake_.wait(l, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    if (stopping_ && std::chrono::steady_clock::now() >= stop_deadline_) return;
    Outgoing next = queue_.front();  // a copy: the queue may move while unlocked
    l.unlock();
    Status s = sink_->Publish(next);
    l.lock();
    if (s.ok()) {
      queue_.pop_front();
      ++stats_.sent;
      backoff = options_.first_backoff;
      if (queue_.empty()) emptied_.notify_all();
      continue;
    }
    if (stats_.failures++ % 20 == 0) {
      spdlog::warn("notifications: publish failed ({}), {} queued; retrying", s.ToString(), queue_.size());
    }
    auto until = std::chrono::steady_clock::now() + backoff;
    if (stopping_) until = std::min(until, stop_deadline_);
    wake_.wait_until(l, until, [&] { return stopping_ && std::chrono::steady_clock::now() >= stop_deadline_; });
    backoff = std::min(backoff * 2, options_.max_backoff);
  }
}

}  // namespace glint::notify
