// The worker pool's exception boundary: a job that throws is contained and the pool, and
// a serial queue running on it, go on with the next job.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <stdexcept>

#include "control/job_boundary.h"
#include "control/serial_queue.h"
#include "control/worker_pool.h"

namespace glint::control {
namespace {

constexpr auto kWait = std::chrono::seconds(10);

TEST(WorkerPool, JobThatThrowsDoesNotStopThePool) {
  WorkerPool pool(1);  // one thread: the next job runs on the very thread that saw the throw
  Post post = pool.Poster();
  post([] { throw std::runtime_error("boom"); });
  post([] { throw 42; });  // not a std::exception
  std::promise<int> ran;
  post([&] { ran.set_value(7); });
  auto f = ran.get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.get(), 7);
}

TEST(WorkerPool, SerialQueueGoesOnAfterATaskThrows) {
  WorkerPool pool(2);
  SerialQueue queue(pool.Poster());
  std::promise<void> second;
  queue.Push([] { throw std::logic_error("first task fails"); });
  queue.Push([&] { second.set_value(); });
  EXPECT_EQ(second.get_future().wait_for(kWait), std::future_status::ready);
}

TEST(JobBoundary, ReportsWhetherTheJobThrew) {
  int calls = 0;
  EXPECT_TRUE(RunContained("ok job", [&] { ++calls; }));
  EXPECT_FALSE(RunContained("bad job", [&] {
    ++calls;
    throw std::runtime_error("bad");
  }));
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace glint::control
