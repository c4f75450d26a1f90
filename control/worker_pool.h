// WorkerPool: the threads that may block (catalog calls, store I/O, hashing, sendfile).
// The network threads hand work to it through Poster(); each job runs inside the
// exception boundary of job_boundary.h, so a job that throws is logged and the pool
// carries on with the next one instead of terminating the process.
//
// Poster() may be called, and its Post used, from any thread.
#pragma once

#include <memory>

#include "control/post.h"

namespace glint::control {

class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  Post Poster();
  // Waits for the queued jobs to finish and the threads to end.
  void Join();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glint::control
