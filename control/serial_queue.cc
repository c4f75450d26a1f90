#include "control/serial_queue.h"

namespace glint::control {

void SerialQueue::Push(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(mu_);
    tasks_.push_back(std::move(task));
    if (running_) return;
    running_ = true;
  }
  post_([this] { Drain(); });
}

void SerialQueue::Drain() {
  for (;;) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (tasks_.empty()) {
        running_ = false;
        return;
      }
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace glint::control
