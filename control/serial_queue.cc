#include "control/serial_queue.h"

#include "control/job_boundary.h"

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
    // A task that throws must not end the drain: `running_` would stay set and every later
    // task of this queue would wait forever.
    RunContained("serial queue task", task);
  }
}

}  // namespace glint::control
