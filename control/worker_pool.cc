#include "control/worker_pool.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "control/job_boundary.h"

namespace glint::control {

struct WorkerPool::Impl {
  explicit Impl(int n) : pool(static_cast<size_t>(n)) {}
  boost::asio::thread_pool pool;
};

WorkerPool::WorkerPool(int threads) : impl_(new Impl(threads)) {}
WorkerPool::~WorkerPool() { Join(); }

Post WorkerPool::Poster() {
  Impl* impl = impl_.get();
  return [impl](std::function<void()> fn) {
    boost::asio::post(impl->pool, [fn = std::move(fn)] { RunContained("worker pool job", fn); });
  };
}

void WorkerPool::Join() { impl_->pool.join(); }

}  // namespace glint::control
