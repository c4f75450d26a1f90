// SerialQueue: runs tasks one at a time, in order, on the worker pool. An upload has four
// (md5, sha512, chunk manifest, store write), so the digests and the write of successive
// chunks run in parallel while each stays in order. Push is thread-safe.
//
// A task may hold the last reference to the queue's owner (an upload's tasks keep its
// session alive): the drain keeps its own reference to the queue's state, so the queue
// may be destroyed by a task ending while the drain still runs.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "control/post.h"

namespace glint::control {

class SerialQueue {
 public:
  explicit SerialQueue(Post post);
  void Push(std::function<void()> task);

 private:
  struct State {
    explicit State(Post p) : post(std::move(p)) {}
    Post post;
    std::mutex mu;
    std::deque<std::function<void()>> tasks;
    bool running = false;
  };
  static void Drain(const std::shared_ptr<State>& state);
  std::shared_ptr<State> state_;
};

}  // namespace glint::control
