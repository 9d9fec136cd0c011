// ClusterShardSubscriber on a one-master Redis Cluster: sharded pub/sub
// where the server has it (Redis 7), plain pub/sub where it does not (the
// server here is made to lack SSUBSCRIBE and SPUBLISH with rename-command),
// and ClusterStore's notices taking the same fallback. Redirects and slot
// moves over three masters: tests/integration/cache_redis_cluster_test.cc.
#include "store/redis/cluster_shard_subscriber.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cache/store.h"
#include "cluster_fixture.h"
#include "common/reserved_port.h"
#include "store/redis/cluster_store.h"
#include "store/redis/invalidation_channel.h"
#include "store_fixtures.h"

using namespace larder;
using namespace larder::store::test;

namespace {

// One cluster node holding every slot: the process's shared node (cluster_fixture.h),
// or with `extra` arguments a node of the case's own.
struct ShardNode {
  struct OwnNode {
    explicit OwnNode(std::vector<std::string> extra)
        : bus_port(larder::test::reservePort()),
          config_file(std::filesystem::temp_directory_path() /
                      ("larder-unit-shard-" + std::to_string(getpid()) + "-" + std::to_string(bus_port) + ".conf")),
          server(args(std::move(extra))) {}
    ~OwnNode() {
      std::error_code ignored;
      std::filesystem::remove(config_file, ignored);
    }
    std::vector<std::string> args(std::vector<std::string> extra) const {
      std::vector<std::string> all{"--cluster-enabled", "yes", "--cluster-config-file", config_file.string(),
                                   "--cluster-port", std::to_string(bus_port)};
      all.insert(all.end(), extra.begin(), extra.end());
      return all;
    }
    uint16_t bus_port;
    std::filesystem::path config_file;
    RedisServer server;
  };

  ShardNode() : server(SharedClusterNode::acquire(loop)) {}
  explicit ShardNode(std::vector<std::string> extra)
      : own(std::make_unique<OwnNode>(std::move(extra))), server(own->server) {
    REQUIRE(server.command({"CLUSTER", "ADDSLOTSRANGE", "0", "16383"}).isStatus("OK"));
    REQUIRE(runUntil(
        loop, [&] { return server.command({"CLUSTER", "INFO"}).str.find("cluster_state:ok") != std::string::npos; },
        5s));
  }
  std::vector<store::ClusterNode> seeds() const { return {{"127.0.0.1", server.port()}}; }

  // Destroyed in reverse: the loop, then the node of the case's own.
  std::unique_ptr<OwnNode> own;
  net::Loop loop;
  RedisServer& server;
};

struct Heard {
  std::vector<std::string> messages;
  std::vector<bool> states;
};

std::unique_ptr<store::ClusterShardSubscriber> subscribe(ShardNode& c, Heard& heard) {
  return std::make_unique<store::ClusterShardSubscriber>(
      c.loop, testRedisOptions(c.server.port()), c.seeds(), kChannel,
      [&heard](std::string_view message) { heard.messages.emplace_back(message); },
      [&heard](bool subscribed) { heard.states.push_back(subscribed); }, 0);
}

}  // namespace

TEST_CASE("cluster shard subscriber: SSUBSCRIBE on the channel's shard; SPUBLISH and PUBLISH both heard") {
  ShardNode c;
  Heard heard;
  auto subscriber = subscribe(c, heard);
  REQUIRE(runUntil(c.loop, [&] { return subscriber->isSubscribed(); }, 3s));
  CHECK(subscriber->isSharded());
  REQUIRE(runUntil(c.loop, [&] { return heard.states.size() == 1; }));
  CHECK(heard.states == std::vector<bool>{true});
  larder::test::RedisReply shard = c.server.command({"PUBSUB", "SHARDNUMSUB", kChannel});
  REQUIRE(shard.elements.size() == 2);
  CHECK(shard.elements[1].integer == 1);
  CHECK(c.server.command({"SPUBLISH", kChannel, "sharded"}).integer == 1);
  CHECK(c.server.command({"PUBLISH", kChannel, "plain"}).integer == 1);
  REQUIRE(runUntil(c.loop, [&] { return heard.messages.size() == 2; }));
  CHECK(heard.messages == std::vector<std::string>{"sharded", "plain"});
}

TEST_CASE("cluster shard subscriber: the node restarted: lost, then subscribed again") {
  ShardNode c;
  Heard heard;
  auto subscriber = subscribe(c, heard);
  REQUIRE(runUntil(c.loop, [&] { return subscriber->isSubscribed(); }, 3s));
  c.server.restart();
  REQUIRE(runUntil(c.loop, [&] { return !heard.states.empty() && !heard.states.back(); }, 3s));
  REQUIRE(runUntil(c.loop, [&] { return subscriber->isSharded(); }, 10s));
  REQUIRE(runUntil(c.loop, [&] { return heard.states.size() == 3; }));
  CHECK(heard.states == std::vector<bool>{true, false, true});
  CHECK(c.server.command({"SPUBLISH", kChannel, "again"}).integer == 1);
  REQUIRE(runUntil(c.loop, [&] { return !heard.messages.empty(); }));
  CHECK(heard.messages.back() == "again");
}

TEST_CASE("cluster shard subscriber and store: without SSUBSCRIBE/SPUBLISH, plain pub/sub carries the notices") {
  ShardNode c({"--rename-command", "SSUBSCRIBE", "", "--rename-command", "SPUBLISH", ""});
  Heard heard;
  auto subscriber = subscribe(c, heard);
  REQUIRE(runUntil(c.loop, [&] { return subscriber->isSubscribed(); }, 3s));
  CHECK_FALSE(subscriber->isSharded());

  store::RedisOptions options = testRedisOptions(c.server.port());
  options.invalidation_channel = kChannel;
  store::ClusterStore store(c.loop, options, c.seeds());
  REQUIRE(runUntil(c.loop, [&] { return store.isReady(); }, 3s));
  for (int round = 0; round < 2; ++round) {
    CAPTURE(round);  // the first SPUBLISH is refused, then PUBLISH; the second goes by PUBLISH at once
    cache::Invalidation invalidation;
    invalidation.epoch_key = "v1:epoch";
    invalidation.version_keys = {"v1:ns:products"};
    invalidation.tokens = {"token" + std::to_string(round)};
    invalidation.version_ttl = 60s;
    std::optional<cache::StoreStatus> status;
    cache::Pending pending = store.invalidate(invalidation, [&](cache::StoreStatus s) { status = s; });
    REQUIRE(runUntil(c.loop, [&] { return status.has_value(); }));
    CHECK(*status == cache::StoreStatus::kOk);
    REQUIRE(runUntil(c.loop, [&] { return heard.messages.size() == static_cast<size_t>(round + 1); }));
    CHECK(store::decodeInvalidationMessage(heard.messages.back()) == std::vector<std::string>{"v1:ns:products"});
  }
}

TEST_CASE("cluster shard subscriber: a refused seed and a seed without an address are skipped for the next one") {
  ShardNode c;
  Heard heard;
  const uint16_t dead = larder::test::reservePort();
  // The unresolvable seed: its link retries the lookup by itself, never
  // connecting; the subscriber leaves it after connect_timeout.
  std::vector<store::ClusterNode> seeds{{"127.0.0.1", dead}, {"no-such-node.invalid", c.server.port()}};
  seeds.push_back(c.seeds().front());
  store::ClusterShardSubscriber subscriber(
      c.loop, testRedisOptions(c.server.port()), seeds, kChannel,
      [&heard](std::string_view message) { heard.messages.emplace_back(message); },
      [&heard](bool subscribed) { heard.states.push_back(subscribed); }, 0);
  REQUIRE(runUntil(c.loop, [&] { return subscriber.isSharded(); }, 5s));
  CHECK(subscriber.nodeForTest() == c.seeds().front().name());
  REQUIRE(runUntil(c.loop, [&] { return !heard.states.empty(); }));
  CHECK(heard.states == std::vector<bool>{true});
}

TEST_CASE("cluster shard subscriber: destroyed while connecting, or with a move pending, nothing is heard after") {
  ShardNode c;
  Heard heard;
  subscribe(c, heard).reset();  // its link is connecting
  runFor(c.loop, 100ms);
  CHECK(heard.states.empty());

  auto subscriber = subscribe(c, heard);
  REQUIRE(runUntil(c.loop, [&] { return heard.states.size() == 1; }, 3s));
  c.server.restart();
  // Lost inside the disconnect callback; the move and the owner's `false`
  // go out on a later turn, if this turn has not run them yet.
  REQUIRE(runUntil(c.loop, [&] { return !subscriber->isSubscribed(); }, 3s));
  const size_t states = heard.states.size();
  subscriber.reset();
  runFor(c.loop, 500ms);
  CHECK(heard.states.size() == states);
  CHECK(heard.messages.empty());
}
