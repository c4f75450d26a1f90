// SerialQueue: runs tasks one at a time, in order, on the worker pool. An upload has three
// (md5, sha512, store write), so the two digests and the write of successive chunks run
// in parallel while each stays in order. Push is thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <mutex>

#include "control/post.h"

namespace glint::control {

class SerialQueue {
 public:
  explicit SerialQueue(Post post) : post_(std::move(post)) {}
  void Push(std::function<void()> task);

 private:
  void Drain();
  Post post_;
  std::mutex mu_;
  std::deque<std::function<void()>> tasks_;
  bool running_ = false;
};

}  // namespace glint::control
