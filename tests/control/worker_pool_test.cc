// The worker pool's exception boundary: a job that throws is contained and the pool, and
// a serial queue running on it, go on with the next job.
#include <gtest/gtest.h>

#include <chrono>
#include <atomic>
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

// An upload's tasks keep its session (and the session's queues) alive: the task that ends
// last frees the queue while its drain still runs. Under ASan a drain that touched the
// freed queue afterwards was reported here (and once in the identity suite).
TEST(WorkerPool, ATaskMayHoldTheLastReferenceToItsQueuesOwner) {
  struct Owner {
    explicit Owner(Post p) : queue(std::move(p)) {}
    ~Owner() { gone->set_value(); }
    SerialQueue queue;
    std::promise<void>* gone = nullptr;
  };
  WorkerPool pool(2);
  std::promise<void> gone;
  std::atomic<int> ran{0};
  std::promise<void> released;
  std::shared_future<void> released_f = released.get_future().share();
  {
    auto owner = std::make_shared<Owner>(pool.Poster());
    owner->gone = &gone;
    owner->queue.Push([owner, released_f] { released_f.wait(); });  // the tasks outlive our reference
    for (int i = 0; i < 100; ++i) owner->queue.Push([owner, &ran] { ++ran; });
  }
  released.set_value();
  EXPECT_EQ(gone.get_future().wait_for(kWait), std::future_status::ready);
  pool.Join();  // every drain has ended
  EXPECT_EQ(ran.load(), 100);
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
