// CrossThreadQueue: functions posted from another thread run on the loop's
// thread in posting order, and the loop's thread may destroy the queue as
// soon as the last one has run, while the posting thread is still returning
// from post() (run under TSan and ASan: `make test-tsan`, `make test-asan`).
#include "net/loop.h"

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

}  // namespace
}  // namespace larder::net
