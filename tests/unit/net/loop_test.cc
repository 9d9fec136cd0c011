// CrossThreadQueue: functions posted from another thread run on the loop's
// thread in posting order, and the loop's thread may destroy the queue as
// soon as the last one has run, while the posting thread is still returning
// from post() (run under TSan and ASan: `make test-tsan`, `make test-asan`).
// A Sender outlives the queue: what is posted through it once the queue has
// closed is dropped, as when a worker stops while another still wakes its
// fill waiters (issue 12 item 5).
#include "net/loop.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

namespace larder::net {
namespace {

TEST_CASE("posts from another thread run in order; the queue may be destroyed right after the last one ran") {
  constexpr int kRounds = 200;
  constexpr int kPosts = 10;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    auto loop = std::make_unique<Loop>();
    auto queue = std::make_unique<CrossThreadQueue>(*loop);
    std::vector<int> seen;
    Loop* raw_loop = loop.get();
    std::thread poster([&queue, &seen, raw_loop] {
      for (int i = 0; i < kPosts; ++i) {
        queue->post([&seen, raw_loop, i] {
          seen.push_back(i);
          if (i == kPosts - 1) raw_loop->stop();
        });
      }
    });
    loop->run();
    // The last function has run: destroy at once, as a worker does on exit.
    queue.reset();
    poster.join();
    loop.reset();
    REQUIRE(seen.size() == size_t(kPosts));
    for (int i = 0; i < kPosts; ++i) CHECK(seen[size_t(i)] == i);
  }
}

TEST_CASE("a post through a Sender after its queue has gone is dropped, and what it captured is freed") {
  auto loop = std::make_unique<Loop>();
  auto queue = std::make_unique<CrossThreadQueue>(*loop);
  CrossThreadQueue::Sender sender = queue->sender();
  auto captured = std::make_shared<int>(0);
  bool ran = false;
  CHECK(sender.post([captured, &ran] { ran = true; }));
  // Queued but not run when the queue closes: destroyed by close().
  queue->close();
  CHECK(captured.use_count() == 1);
  CHECK_FALSE(sender.post([captured, &ran] { ran = true; }));
  CHECK(captured.use_count() == 1);
  queue.reset();
  CHECK_FALSE(sender.post([captured, &ran] { ran = true; }));
  loop->run();
  loop.reset();
  CHECK_FALSE(ran);
  CHECK(captured.use_count() == 1);
  CHECK_FALSE(CrossThreadQueue::Sender().post([] {}));
}

TEST_CASE("a post through a Sender whose owner is gone by then does not run") {
  Loop loop;
  CrossThreadQueue queue(loop);
  auto owner = std::make_unique<LivenessToken>();
  bool ran = false;
  CHECK(queue.sender().post(owner->ref(), [&ran] { ran = true; }));
  owner.reset();
  queue.unref();
  loop.run();
  CHECK_FALSE(ran);
}

// What the old code did on shutdown: a worker's queue and loop were
// destroyed while another thread could still post to them through a raw
// pointer, a use after free under ASan. Now the poster keeps a Sender, and
// keeps posting until it is told the queue is gone.
TEST_CASE("another thread keeps posting while the loop's thread stops and destroys its queue and loop") {
  constexpr int kRounds = 100;
  for (int round = 0; round < kRounds; ++round) {
    CAPTURE(round);
    auto loop = std::make_unique<Loop>();
    auto queue = std::make_unique<CrossThreadQueue>(*loop);
    std::atomic<int> ran{0};
    int accepted = 0;
    Loop* raw_loop = loop.get();
    std::thread poster([sender = queue->sender(), &ran, &accepted, raw_loop] {
      while (sender.post([&ran, raw_loop] {
        if (ran.fetch_add(1) + 1 == 5) raw_loop->stop();
      }))
        ++accepted;
    });
    loop->run();
    queue.reset();
    loop.reset();
    poster.join();
    CHECK(ran.load() >= 5);
    CHECK(ran.load() <= accepted);
  }
}

}  // namespace
}  // namespace larder::net
