// Loop::post, Deferrer and destroyLater (net/loop.h, net/defer.h) on a real
// loop (STYLE T4): deferral order, never inside the call, dropping what a
// gone owner posted, and destroying an object from inside its own callback.
#include "net/defer.h"

#include <memory>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "net/timer.h"

namespace larder::net {
namespace {

using namespace std::chrono_literals;

TEST_CASE("posted functions run later, in posting order; what they post runs on a later turn") {
  Loop loop;
  std::vector<std::string> log;
  loop.post([&] {
    log.push_back("a");
    loop.post([&] { log.push_back("a2"); });
  });
  loop.post([&] { log.push_back("b"); });
  CHECK(log.empty());  // never inside post()
  CHECK(loop.postedForTest() == 2);
  // One turn runs the first batch only.
  uv_run(loop.raw(), UV_RUN_NOWAIT);
  CHECK(log == std::vector<std::string>{"a", "b"});
  loop.run();
  CHECK(log == std::vector<std::string>{"a", "b", "a2"});
}

TEST_CASE("a post keeps the loop running until it ran") {
  Loop loop;
  bool ran = false;
  loop.post([&ran] { ran = true; });
  loop.run();  // returns only once nothing is active
  CHECK(ran);
}

TEST_CASE("what is still posted when the loop is destroyed is destroyed, not run") {
  auto loop = std::make_unique<Loop>();
  auto captured = std::make_shared<int>(0);
  bool ran = false;
  loop->post([captured, &ran] { ran = true; });
  loop.reset();
  CHECK_FALSE(ran);
  CHECK(captured.use_count() == 1);
}

TEST_CASE("a Deferrer drops what it posted once it is gone; a live one delivers in order") {
  Loop loop;
  std::vector<int> log;
  Deferrer kept(loop);
  auto gone = std::make_unique<Deferrer>(loop);
  kept.post([&log] { log.push_back(1); });
  gone->post([&log] { log.push_back(2); });
  kept.post([&log] { log.push_back(3); });
  gone.reset();
  loop.run();
  CHECK(log == std::vector<int>{1, 3});
}

TEST_CASE("dropPosted() drops what was posted before it, not after") {
  Loop loop;
  std::vector<int> log;
  Deferrer deferrer(loop);
  deferrer.post([&log] { log.push_back(1); });
  deferrer.dropPosted();
  deferrer.post([&log] { log.push_back(2); });
  loop.run();
  CHECK(log == std::vector<int>{2});
}

// An object whose owner drops it from inside the object's own timer
// callback: with a plain reset() the Timer's callback would return into a
// destroyed Timer (a use after free under ASan).
struct Widget {
  Widget(Loop& loop, int& destroyed) : timer(loop), destroyed(destroyed) {}
  ~Widget() { ++destroyed; }
  void touch() { ++touched; }
  Timer timer;
  int& destroyed;
  int touched = 0;
};

TEST_CASE("destroyLater from inside the object's own callback destroys it after the callback returned") {
  Loop loop;
  int destroyed = 0;
  auto widget = std::make_unique<Widget>(loop, destroyed);
  bool destroyed_inside = true;
  widget->timer.start(1ms, [&] {
    destroyLater(loop, std::move(widget));
    CHECK(widget == nullptr);  // the owner let go at once
    destroyed_inside = destroyed != 0;
  });
  loop.run();
  CHECK_FALSE(destroyed_inside);
  CHECK(destroyed == 1);
}

TEST_CASE("destroyLater runs after the work posted before it, and on loop destruction at the latest") {
  int destroyed = 0;
  std::vector<std::string> log;
  {
    Loop loop;
    auto widget = std::make_unique<Widget>(loop, destroyed);
    Widget* raw = widget.get();
    loop.post([&log, raw] {
      raw->touch();  // still alive: posted before the destruction
      log.push_back("touched");
    });
    destroyLater(loop, std::move(widget));
    loop.post([&log, &destroyed] { log.push_back(destroyed == 1 ? "after" : "before"); });
    loop.run();
    CHECK(log == std::vector<std::string>{"touched", "after"});

    destroyLater(loop, std::make_unique<Widget>(loop, destroyed));
    destroyLater(loop, std::unique_ptr<Widget>());  // null: nothing to do
  }  // the loop goes without running again
  CHECK(destroyed == 2);
}

TEST_CASE("a Graveyard destroys what is buried from inside its own callback on a later turn") {
  Loop loop;
  int destroyed = 0;
  Graveyard graveyard(loop);
  auto widget = std::make_unique<Widget>(loop, destroyed);
  bool destroyed_inside = true;
  widget->timer.start(1ms, [&] {
    graveyard.bury(std::move(widget));
    graveyard.bury(std::make_unique<Widget>(loop, destroyed));  // a second one rides the same turn
    graveyard.bury(std::unique_ptr<Widget>());                  // null: nothing to do
    destroyed_inside = destroyed != 0;
    CHECK(graveyard.size() == 2);
  });
  loop.run();
  CHECK_FALSE(destroyed_inside);
  CHECK(destroyed == 2);
  CHECK(graveyard.size() == 0);
}

// What a buried object's destructor buries goes with it.
struct Nested {
  Nested(Graveyard& graveyard, Loop& loop, int& destroyed) : graveyard(graveyard), loop(loop), destroyed(destroyed) {}
  ~Nested() {
    ++destroyed;
    graveyard.bury(std::make_unique<Widget>(loop, destroyed));
  }
  Graveyard& graveyard;
  Loop& loop;
  int& destroyed;
};

TEST_CASE("a Graveyard destroyed first destroys what it holds then, and what their destructors bury") {
  int destroyed = 0;
  Loop loop;
  {
    Graveyard graveyard(loop);
    graveyard.bury(std::make_unique<Nested>(graveyard, loop, destroyed));
    CHECK(destroyed == 0);
  }  // before any turn ran: its post is dropped, its dead go with it
  CHECK(destroyed == 2);
  loop.run();  // the dropped post touches nothing (ASan)
  CHECK(destroyed == 2);
}

TEST_CASE("a Graveyard's later turn destroys what destructors bury too") {
  int destroyed = 0;
  Loop loop;
  Graveyard graveyard(loop);
  graveyard.bury(std::make_unique<Nested>(graveyard, loop, destroyed));
  loop.run();
  CHECK(destroyed == 2);
  CHECK(graveyard.size() == 0);
}

}  // namespace
}  // namespace larder::net
