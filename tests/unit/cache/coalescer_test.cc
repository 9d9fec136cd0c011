#include "cache/coalescer.h"

#include <doctest/doctest.h>

using namespace larder::cache;

TEST_CASE("fill: held waiters, then a restarted wait that wakes them, only while fetching") {
  Coalescer coalescer;
  auto leader = coalescer.join("key");
  REQUIRE(leader.leader);
  auto waiter = coalescer.join("key");
  CHECK_FALSE(waiter.leader);
  int woken = 0;
  FillWaiter registration(waiter.fill, [&] { ++woken; });

  CHECK(waiter.fill->read(0).restarts == 0);
  CHECK_FALSE(waiter.fill->waitPhase().held);
  leader.fill->holdWaiters();
  CHECK(waiter.fill->waitPhase().held);
  CHECK(woken == 0);
  leader.fill->restartWait();
  CHECK_FALSE(waiter.fill->waitPhase().held);
  CHECK(waiter.fill->waitPhase().restarts == 1);
  CHECK(woken == 1);
  Fill::Progress progress = waiter.fill->read(0);
  CHECK(progress.state == Fill::State::kFetching);
  CHECK(progress.restarts == 1);

  // Once the head is out the wait is over: a restart means nothing then.
  leader.fill->publishHead({200, "OK", {}, 2, {}, std::nullopt});
  leader.fill->restartWait();
  CHECK(woken == 2);
  CHECK(waiter.fill->read(0).restarts == 1);
  leader.fill->abandon();
  leader.fill->restartWait();
  CHECK(waiter.fill->read(0).restarts == 1);
}

TEST_CASE("fill: held waiters are released by whatever ends the fetching state") {
  Coalescer coalescer;
  auto leader = coalescer.join("key");
  leader.fill->holdWaiters();
  // A remote hit published as the answer: nobody is held behind a head.
  leader.fill->publishHead({200, "OK", {}, 0, {}, std::nullopt});
  CHECK_FALSE(leader.fill->waitPhase().held);
  auto other = coalescer.join("other");
  other.fill->holdWaiters();
  other.fill->abandon();
  CHECK_FALSE(other.fill->waitPhase().held);
}

TEST_CASE("fill: an unstored answer keeps a bounded window; a reader behind it fell behind") {
  Coalescer coalescer;
  auto leader = coalescer.join("key");
  int woken = 0;
  FillWaiter registration(leader.fill, [&] { ++woken; });
  leader.fill->publishHead({200, "OK", {}, std::nullopt, {}, std::nullopt});
  leader.fill->publishBody("0123");
  leader.fill->keepWindow(4);
  // Trimmed in batches: nothing is dropped below twice the window.
  leader.fill->publishBody("456");
  CHECK(leader.fill->read(0).body == "0123456");
  leader.fill->publishBody("7");  // 8 bytes: back to the last 4
  Fill::Progress behind = leader.fill->read(2);
  CHECK(behind.fell_behind);
  CHECK(behind.body.empty());
  Fill::Progress within = leader.fill->read(5);
  CHECK_FALSE(within.fell_behind);
  CHECK(within.body == "567");
  CHECK(leader.fill->read(8).body.empty());
  leader.fill->complete();
  CHECK(leader.fill->read(4).state == Fill::State::kComplete);
  CHECK(leader.fill->read(4).body == "4567");
  CHECK(woken == 5);  // the head, three publishes, completion
}

TEST_CASE("fill: a stored answer is kept whole for late readers") {
  Coalescer coalescer;
  auto leader = coalescer.join("key");
  leader.fill->publishHead({200, "OK", {}, std::nullopt, {}, std::nullopt});
  for (int i = 0; i < 100; ++i) leader.fill->publishBody("0123456789");
  Fill::Progress progress = leader.fill->read(0);
  CHECK_FALSE(progress.fell_behind);
  CHECK(progress.body.size() == 1000);
  CHECK(progress.end == 1000);
  // A reader takes a piece at a time.
  Fill::Progress piece = leader.fill->read(995, 3);
  CHECK(piece.body == "567");
  CHECK(piece.end == 1000);
}

TEST_CASE("fill: an answer published to one reader is abandoned for the others, and kept only until read") {
  Coalescer coalescer;
  auto joined = coalescer.join("key");
  int hooks = 0;
  joined.fill->setActivityHook([&] { ++hooks; });
  FillWaiter first(joined.fill, [] {});
  FillWaiter other(joined.fill, [] {});
  joined.fill->publishHeadTo({200, "OK", {}, std::nullopt, {}, std::nullopt}, first.id());
  CHECK(joined.fill->isPrivate());
  CHECK(joined.fill->read(0, SIZE_MAX, other.id()).state == Fill::State::kAbandoned);
  CHECK(joined.fill->read(0).state == Fill::State::kAbandoned);  // no reader named
  joined.fill->publishBody("abcdef");
  const int before = hooks;
  Fill::Progress progress = joined.fill->read(0, 4, first.id());
  CHECK(progress.state == Fill::State::kStreaming);
  CHECK(progress.body == "abcd");
  CHECK(hooks == before + 1);  // the fetch hears that its one reader read
  CHECK(joined.fill->read(4, SIZE_MAX, first.id()).body == "ef");
  CHECK(joined.fill->bufferedBytes() == 2);  // what lies before offset 4 is gone
  CHECK(joined.fill->read(0, SIZE_MAX, first.id()).fell_behind);
}

TEST_CASE("fill: abandonTo moves the named reader, id and notify, to the successor; the others see it abandoned") {
  Coalescer coalescer;
  auto old_fill = coalescer.join("key").fill;
  auto successor = coalescer.join("key;variant").fill;
  int first_woken = 0;
  int other_woken = 0;
  FillWaiter first(old_fill, [&] { ++first_woken; });
  FillWaiter other(old_fill, [&] { ++other_woken; });
  old_fill->abandonTo(successor, first.id());
  CHECK(first_woken == 1);
  CHECK(other_woken == 1);
  CHECK_FALSE(old_fill->hasWaiter(first.id()));
  CHECK(successor->hasWaiter(first.id()));
  Fill::Progress moved = old_fill->read(0, SIZE_MAX, first.id());
  CHECK(moved.state == Fill::State::kAbandoned);
  CHECK(moved.successor == successor);
  CHECK(old_fill->read(0, SIZE_MAX, other.id()).successor == nullptr);
  first.follow(successor);
  successor->publishHead({200, "OK", {}, std::nullopt, {}, std::nullopt});
  CHECK(first_woken == 2);  // notified on the successor now
  first.reset();
  CHECK_FALSE(successor->hasWaiter(first.id()));
  CHECK(successor->waiterCount() == 0);
}

TEST_CASE("fill: abandonFailed carries the status to readers; a completed fill is not failed afterwards") {
  Coalescer coalescer;
  auto failing = coalescer.join("a").fill;
  failing->abandonFailed(504);
  CHECK(failing->read(0).state == Fill::State::kAbandoned);
  CHECK(failing->read(0).failed_status == 504);
  auto done = coalescer.join("b").fill;
  done->publishHead({200, "OK", {}, std::nullopt, {}, std::nullopt});
  done->complete();
  done->abandonFailed(502);
  CHECK(done->read(0).state == Fill::State::kComplete);
  CHECK(done->read(0).failed_status == 0);
}
