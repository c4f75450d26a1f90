#include "control/serial_queue.h"

#include "control/job_boundary.h"

namespace glint::control {

SerialQueue::SerialQueue(Post post) : state_(std::make_shared<State>(std::move(post))) {}

void SerialQueue::Push(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> l(state_->mu);
    state_->tasks.push_back(std::move(task));
    if (state_->running) return;
    state_->running = true;
  }
  state_->post([state = state_] { Drain(state); });
}

void SerialQueue::Drain(const std::shared_ptr<State>& state) {
  for (;;) {
    std::function<void()> task;
    {
      std::lock_guard<std::mutex> l(state->mu);
      if (state->tasks.empty()) {
        state->running = false;
        return;
      }
      task = std::move(state->tasks.front());
      state->tasks.pop_front();
    }
    // A task that throws must not end the drain: `running` would stay set and every later
    // task of this queue would wait forever.
    RunContained("serial queue task", task);
    // `task` goes at the end of this iteration, perhaps with the queue's owner; `state` stays.
  }
}

}  // namespace glint::control
