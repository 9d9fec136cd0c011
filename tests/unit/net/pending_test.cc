// Pending (net/pending.h): the caller's handle on an operation. Destroying
// it before completion drops the callback and aborts the operation;
// detach() drops the callback and lets the operation finish. Driven by a
// timer-backed operation on a real loop (STYLE T4).
#include "net/pending.h"

#include <memory>

#include <doctest/doctest.h>

#include "net/loop.h"
#include "net/timer.h"

namespace larder::net {
namespace {

using namespace std::chrono_literals;

// An operation that completes after a delay unless aborted: it counts what
// happened to it, as a store or a lock would.
struct SlowOperation {
  explicit SlowOperation(Loop& loop) : timer(loop) {}

  Pending start(std::function<void()> on_done) {
    auto [pending, state] = Pending::make();
    state->onCancel([this] {
      ++aborted;
      timer.stop();
    });
    timer.start(10ms, [this, state = state, on_done = std::move(on_done)] {
      ++finished;
      state->finish();
      if (!state->isCancelled()) on_done();
    });
    return std::move(pending);
  }

  Timer timer;
  int finished = 0;
  int aborted = 0;
};

TEST_CASE("a Pending kept until completion gets its callback once") {
  Loop loop;
  SlowOperation operation(loop);
  int called = 0;
  Pending pending = operation.start([&called] { ++called; });
  CHECK(pending.isActive());
  loop.run();
  CHECK(called == 1);
  CHECK(operation.finished == 1);
  CHECK(operation.aborted == 0);
}

TEST_CASE("a Pending destroyed before completion drops the callback and aborts the operation") {
  Loop loop;
  SlowOperation operation(loop);
  int called = 0;
  {
    Pending pending = operation.start([&called] { ++called; });
  }
  loop.run();
  CHECK(called == 0);
  CHECK(operation.aborted == 1);
  CHECK(operation.finished == 0);
}

TEST_CASE("detach() lets the operation finish without a callback") {
  Loop loop;
  SlowOperation operation(loop);
  int called = 0;
  Pending pending = operation.start([&called] { ++called; });
  pending.detach();
  CHECK_FALSE(pending.isActive());
  loop.run();
  CHECK(called == 0);
  CHECK(operation.finished == 1);
  CHECK(operation.aborted == 0);
}

TEST_CASE("assigning over a Pending cancels the one it held; moving keeps the operation") {
  Loop loop;
  SlowOperation first(loop);
  SlowOperation second(loop);
  int first_called = 0;
  int second_called = 0;
  Pending pending = first.start([&first_called] { ++first_called; });
  Pending moved = std::move(pending);
  CHECK_FALSE(pending.isActive());  // NOLINT(bugprone-use-after-move): the moved-from state is specified
  moved = second.start([&second_called] { ++second_called; });
  loop.run();
  CHECK(first.aborted == 1);
  CHECK(first_called == 0);
  CHECK(second_called == 1);
}

TEST_CASE("a cancel after completion aborts nothing") {
  Loop loop;
  SlowOperation operation(loop);
  Pending pending = operation.start([] {});
  loop.run();
  pending.cancel();
  pending.cancel();  // idempotent
  CHECK(operation.aborted == 0);
}

TEST_CASE("a state without an abort hook is only marked cancelled (the store operations)") {
  auto state = std::make_shared<PendingState>();
  {
    Pending pending(state);
  }
  CHECK(state->isCancelled());
}

}  // namespace
}  // namespace larder::net
