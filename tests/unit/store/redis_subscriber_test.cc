// RedisSubscriber against a real redis-server (STYLE T4, T5): delivery by
// channel, loss and return of the subscription, AUTH, teardown mid-flight.
#include "store/redis/redis_subscriber.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;

namespace {

// What one handler saw.
struct Inbox {
  std::vector<std::string> messages;
  std::vector<bool> states;
  store::RedisSubscriber::MessageHandler onMessage() {
    return [this](std::string_view message) { messages.emplace_back(message); };
  }
  store::RedisSubscriber::StateHandler onState() {
    return [this](bool subscribed) { states.push_back(subscribed); };
  }
};

struct SubscriberFixture {
  explicit SubscriberFixture(std::vector<std::string> server_args = {},
                             std::function<void(store::RedisOptions&)> adjust = {})
      : server(std::move(server_args)) {
    options = testRedisOptions(server.port());
    if (adjust) adjust(options);
    subscriber = std::make_unique<store::RedisSubscriber>(loop, options, 0);
  }
  // PUBLISH from another connection; the number of receivers.
  int64_t publish(const std::string& channel, const std::string& message) {
    return server.command({"PUBLISH", channel, message}).integer;
  }

  RedisServer server;
  net::Loop loop;
  store::RedisOptions options;
  std::unique_ptr<store::RedisSubscriber> subscriber;
};

}  // namespace

TEST_CASE("subscriber: each handler gets the messages of its own channel, in order") {
  SubscriberFixture f;
  Inbox a, b;
  auto sub_a = f.subscriber->subscribe("chan:a", a.onMessage(), a.onState());
  auto sub_b = f.subscriber->subscribe("chan:b", b.onMessage(), b.onState());
  CHECK(a.states.empty());  // never inside subscribe()
  REQUIRE(runUntil(f.loop, [&] { return a.states.size() == 1 && b.states.size() == 1; }));
  CHECK(a.states[0]);
  CHECK(f.subscriber->isSubscribed("chan:a"));
  CHECK_FALSE(f.subscriber->isSubscribed("chan:c"));

  CHECK(f.publish("chan:a", "one") == 1);
  CHECK(f.publish("chan:b", "two") == 1);
  CHECK(f.publish("chan:c", "nobody") == 0);
  CHECK(f.publish("chan:a", std::string("bin\0ary", 7)) == 1);
  REQUIRE(runUntil(f.loop, [&] { return a.messages.size() == 2 && b.messages.size() == 1; }));
  CHECK(a.messages == std::vector<std::string>{"one", std::string("bin\0ary", 7)});
  CHECK(b.messages == std::vector<std::string>{"two"});
}

TEST_CASE("subscriber: a removed handler hears nothing; a new one on a live channel is told at once") {
  SubscriberFixture f;
  Inbox first, second;
  auto sub_first = f.subscriber->subscribe("chan", first.onMessage(), first.onState());
  REQUIRE(runUntil(f.loop, [&] { return f.subscriber->isSubscribed("chan"); }));
  auto sub_second = f.subscriber->subscribe("chan", second.onMessage(), second.onState());
  REQUIRE(runUntil(f.loop, [&] { return second.states.size() == 1; }));
  CHECK(second.states[0]);

  sub_first.reset();
  CHECK(f.publish("chan", "after") == 1);  // the channel itself stays subscribed
  REQUIRE(runUntil(f.loop, [&] { return second.messages.size() == 1; }));
  runFor(f.loop, 50ms);
  CHECK(first.messages.empty());
}

TEST_CASE("subscriber: a killed server is reported lost, and back after a restart") {
  SubscriberFixture f;
  Inbox inbox;
  auto sub = f.subscriber->subscribe("chan", inbox.onMessage(), inbox.onState());
  REQUIRE(runUntil(f.loop, [&] { return inbox.states == std::vector<bool>{true}; }));

  f.server.kill();
  REQUIRE(runUntil(f.loop, [&] { return inbox.states.size() == 2; }));
  CHECK_FALSE(inbox.states[1]);
  CHECK_FALSE(f.subscriber->isSubscribed("chan"));

  // It keeps retrying (with backoff) until the server is back.
  runFor(f.loop, 300ms);
  f.server.restart();
  REQUIRE(runUntil(f.loop, [&] { return inbox.states.size() == 3; }, 5s));
  CHECK(inbox.states[2]);
  CHECK(f.publish("chan", "again") == 1);
  REQUIRE(runUntil(f.loop, [&] { return inbox.messages.size() == 1; }));
  CHECK(inbox.messages[0] == "again");
}

TEST_CASE("subscriber: AUTH first when a password is set; a wrong one keeps it unsubscribed") {
  SUBCASE("right password") {
    SubscriberFixture f({"--requirepass", "s3cret"},
                        [](store::RedisOptions& options) { options.password = "s3cret"; });
    Inbox inbox;
    auto sub = f.subscriber->subscribe("chan", inbox.onMessage(), inbox.onState());
    CHECK(runUntil(f.loop, [&] { return f.subscriber->isSubscribed("chan"); }));
  }
  SUBCASE("wrong password") {
    SubscriberFixture f({"--requirepass", "s3cret"},
                        [](store::RedisOptions& options) { options.password = "wrong"; });
    Inbox inbox;
    auto sub = f.subscriber->subscribe("chan", inbox.onMessage(), inbox.onState());
    runFor(f.loop, 500ms);
    CHECK_FALSE(f.subscriber->isSubscribed("chan"));
    CHECK(inbox.states.empty());
  }
}

TEST_CASE("subscriber: destroyed while connecting, or with messages queued, it calls nothing") {
  SubscriberFixture f;
  Inbox inbox;
  {
    store::RedisSubscriber early(f.loop, f.options, 1);
    auto sub = early.subscribe("chan", inbox.onMessage(), inbox.onState());
    uv_run(f.loop.raw(), UV_RUN_NOWAIT);
    sub.reset();
  }
  auto sub = f.subscriber->subscribe("chan", inbox.onMessage(), inbox.onState());
  REQUIRE(runUntil(f.loop, [&] { return inbox.states.size() == 1; }));
  f.publish("chan", "late");
  // The message may be read and queued, not yet delivered, when it goes.
  uv_run(f.loop.raw(), UV_RUN_NOWAIT);
  const size_t seen = inbox.messages.size();
  sub.reset();
  f.subscriber.reset();
  runFor(f.loop, 50ms);
  CHECK(inbox.messages.size() == seen);
  CHECK(inbox.states.size() == 1);
}
