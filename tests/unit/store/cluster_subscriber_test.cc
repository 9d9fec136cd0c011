// ClusterSubscriber: it subscribes on one of its nodes and moves on when
// that one is lost. Plain redis-servers stand for the nodes: what is tested
// is where it subscribes, not the cluster bus (a PUBLISH on any cluster
// node reaches every node's subscribers; the integration tests show that).
#include "store/redis/cluster_subscriber.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/captured_log.h"
#include "common/reserved_port.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;

namespace {

std::string nameOf(const RedisServer& server) { return "127.0.0.1:" + std::to_string(server.port()); }

}  // namespace

TEST_CASE("cluster subscriber: a node that never answers is skipped for the next one") {
  RedisServer live;
  net::Loop loop;
  const uint16_t dead = larder::test::reservePort();
  store::ClusterSubscriber subscriber(loop, testRedisOptions(live.port()),
                                      {{"127.0.0.1", dead}, {"127.0.0.1", live.port()}}, 0);
  std::vector<std::string> messages;
  std::vector<bool> states;
  auto subscription = subscriber.subscribe(
      kChannel, [&](std::string_view message) { messages.emplace_back(message); },
      [&](bool subscribed) { states.push_back(subscribed); });
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed(kChannel); }, 5s));
  CHECK(subscriber.nodeForTest() == nameOf(live));
  CHECK(states == std::vector<bool>{true});
  REQUIRE(live.command({"PUBLISH", kChannel, "hello"}).integer == 1);
  REQUIRE(runUntil(loop, [&] { return !messages.empty(); }));
  CHECK(messages == std::vector<std::string>{"hello"});
}

TEST_CASE("cluster subscriber: its node killed, it subscribes on the next; handlers hear lost, then back") {
  RedisServer first;
  RedisServer second;
  net::Loop loop;
  store::ClusterSubscriber subscriber(loop, testRedisOptions(first.port()),
                                      {{"127.0.0.1", first.port()}, {"127.0.0.1", second.port()}}, 0);
  std::vector<std::string> messages;
  std::vector<bool> states;
  auto subscription = subscriber.subscribe(
      kChannel, [&](std::string_view message) { messages.emplace_back(message); },
      [&](bool subscribed) { states.push_back(subscribed); });
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed(kChannel); }, 5s));
  CHECK(subscriber.nodeForTest() == nameOf(first));

  first.kill();
  REQUIRE(runUntil(loop, [&] { return subscriber.nodeForTest() == nameOf(second); }, 5s));
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed(kChannel); }, 5s));
  CHECK(states == std::vector<bool>{true, false, true});
  REQUIRE(second.command({"PUBLISH", kChannel, "after"}).integer == 1);
  REQUIRE(runUntil(loop, [&] { return !messages.empty(); }));
  CHECK(messages == std::vector<std::string>{"after"});

  // A second handler on a subscribed channel is told at once, later.
  bool told = false;
  auto late = subscriber.subscribe(kChannel, [](std::string_view) {}, [&](bool subscribed) { told = subscribed; });
  CHECK_FALSE(told);
  REQUIRE(runUntil(loop, [&] { return told; }));
}

TEST_CASE("cluster subscriber: a handler gone hears nothing more") {
  RedisServer server;
  net::Loop loop;
  store::ClusterSubscriber subscriber(loop, testRedisOptions(server.port()), {{"127.0.0.1", server.port()}}, 0);
  int heard = 0;
  auto subscription = subscriber.subscribe(kChannel, [&](std::string_view) { ++heard; });
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed(kChannel); }, 5s));
  subscription.reset();
  REQUIRE(server.command({"PUBLISH", kChannel, "nobody"}).integer == 1);
  runFor(loop, 100ms);
  CHECK(heard == 0);
}

// Each node it moves to gets a new RedisSubscriber. Before they were told
// the outage was already warned of, every node that refused it warned again
// (with every node down, a warning a second).
TEST_CASE("cluster subscriber: one outage warns once, however many nodes it moves through") {
  larder::test::CapturedLog log;
  RedisServer first;
  net::Loop loop;
  const uint16_t dead = larder::test::reservePort();
  store::ClusterSubscriber subscriber(loop, testRedisOptions(first.port()),
                                      {{"127.0.0.1", first.port()}, {"127.0.0.1", dead}}, 0);
  auto subscription = subscriber.subscribe(kChannel, [](std::string_view) {});
  REQUIRE(runUntil(loop, [&] { return subscriber.isSubscribed(kChannel); }, 5s));

  first.kill();
  REQUIRE(runUntil(loop, [&] { return subscriber.nodeForTest() == "127.0.0.1:" + std::to_string(dead); }, 5s));
  // Failed there too: no connection within connect_timeout (300ms).
  runFor(loop, 450ms);
  INFO(log.text());
  CHECK(log.countLines({"[warn]", "redis subscriber"}) == 1);  // the first node's loss
  CHECK(log.countLines({"[warn]", "redis cluster: no subscription"}) == 1);
  CHECK(log.countLines({"[warn]"}) == 2);
}
