// store.redis load settings (issue 13): connections, the in-flight bounds
// and the queue inside larder; their defaults and their mistakes.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;

namespace {

std::string withRedis(const std::string& extra) {
  return kUpstreamYaml + "store:\n  redis: { url: \"redis://127.0.0.1:6379/0\"" + extra + " }\n";
}

}  // namespace

TEST_CASE("store.redis: 4 connections, 32 commands in flight each, 1024 queued by default") {
  auto result = loadConfigString(withRedis(""), "conf.yaml");
  REQUIRE(result.ok());
  const RedisConfig& redis = *(*result)->store.redis;
  CHECK(redis.connections == 4);
  CHECK(redis.max_in_flight == 32);
  CHECK(redis.max_queued == 1024);
  CHECK(redis.max_in_flight_bytes == 256 * 1024);
  CHECK(redis.local_copies_size == 32 * 1024 * 1024);
  CHECK(redis.local_copies_min_size == 16 * 1024);
}

TEST_CASE("store.redis.local_copies: size and min_size are read; size 0 turns them off") {
  auto result = loadConfigString(withRedis(", local_copies: { size: 1GiB, min_size: 4KiB }"), "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->store.redis->local_copies_size == 1024ull * 1024 * 1024);
  CHECK((*result)->store.redis->local_copies_min_size == 4 * 1024);
  auto off = loadConfigString(withRedis(", local_copies: { size: 0 }"), "conf.yaml");
  REQUIRE(off.ok());
  CHECK((*off)->store.redis->local_copies_size == 0);
}

TEST_CASE("store.redis: max_in_flight and max_queued are read; 0 queued means never wait") {
  auto result =
      loadConfigString(withRedis(", connections: 3, max_in_flight: 2, max_queued: 0, "
                                 "max_in_flight_bytes: 1MiB"),
                       "conf.yaml");
  REQUIRE(result.ok());
  const RedisConfig& redis = *(*result)->store.redis;
  CHECK(redis.connections == 3);
  CHECK(redis.max_in_flight == 2);
  CHECK(redis.max_queued == 0);
  CHECK(redis.max_in_flight_bytes == 1024 * 1024);
}

TEST_CASE("store.redis: bad load settings get an error naming the key") {
  struct Row {
    std::string extra;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {", max_in_flight: 0", "store.redis.max_in_flight: must be from 1 to 1024"},
      {", max_in_flight: 5000", "store.redis.max_in_flight: must be from 1 to 1024"},
      {", max_in_flight: many", "store.redis.max_in_flight"},
      {", max_queued: -1", "store.redis.max_queued"},
      {", max_queued: 2000000", "store.redis.max_queued: must be from 0 to 1000000"},
      {", max_in_flight_bytes: 0", "store.redis.max_in_flight_bytes: must be greater than 0"},
      {", max_in_flight_bytes: lots", "store.redis.max_in_flight_bytes: invalid size"},
      {", max_inflight: 4", "unknown key store.redis.max_inflight (did you mean max_in_flight?)"},
      {", local_copies: 32MiB", "store.redis.local_copies"},
      {", local_copies: { size: big }", "store.redis.local_copies.size: invalid size"},
      {", local_copies: { min_size: 100 }", "store.redis.local_copies.min_size: must be at least 1KiB"},
      {", local_copies: { sise: 1MiB }", "unknown key store.redis.local_copies.sise"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.extra);
    auto result = loadConfigString(withRedis(row.extra), "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(!result.error().empty());
    CHECK(result.error()[0].message.find(row.message) != std::string::npos);
  }
}

TEST_CASE("store.redis.write_consistency: a write waits for nothing by default; wait_for_invalidation is read") {
  auto plain = loadConfigString(withRedis(""), "conf.yaml");
  REQUIRE(plain.ok());
  CHECK((*plain)->store.redis->wait_for_invalidation == std::chrono::milliseconds(0));
  auto waiting =
      loadConfigString(withRedis(", write_consistency: { wait_for_invalidation: 500ms }"), "conf.yaml");
  REQUIRE(waiting.ok());
  CHECK((*waiting)->store.redis->wait_for_invalidation == std::chrono::milliseconds(500));
}

TEST_CASE("store.redis.write_consistency: bad values get an error naming the key") {
  struct Row {
    std::string extra;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {", write_consistency: { wait_for_invalidation: 2m }",
       "store.redis.write_consistency.wait_for_invalidation: must be at most 60s"},
      {", write_consistency: { wait_for_invalidation: soon }",
       "store.redis.write_consistency.wait_for_invalidation: invalid duration"},
      {", write_consistency: { wait_for_invalidation: -1s }", "store.redis.write_consistency.wait_for_invalidation"},
      {", write_consistency: { wait: 1s }", "unknown key store.redis.write_consistency.wait"},
      {", write_consistency: 5", "store.redis.write_consistency"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.extra);
    auto result = loadConfigString(withRedis(row.extra), "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(!result.error().empty());
    CHECK(result.error()[0].message.find(row.message) != std::string::npos);
  }
}

TEST_CASE("store.redis.sentinel: master_name and sentinels are read; url is then optional") {
  auto result = loadConfigString(kUpstreamYaml +
                                     "store:\n  redis:\n    sentinel:\n      master_name: cache\n"
                                     "      sentinels: [127.0.0.1:26379, \"[::1]:26380\", sentinel-3.internal:26381]\n",
                                 "conf.yaml");
  REQUIRE(result.ok());
  const RedisConfig& redis = *(*result)->store.redis;
  REQUIRE(redis.sentinel.has_value());
  CHECK(redis.sentinel->master_name == "cache");
  REQUIRE(redis.sentinel->sentinels.size() == 3);
  CHECK(redis.sentinel->sentinels[0].host == "127.0.0.1");
  CHECK(redis.sentinel->sentinels[0].port == 26379);
  CHECK(redis.sentinel->sentinels[1].host == "::1");
  CHECK(redis.sentinel->sentinels[2].host == "sentinel-3.internal");
  CHECK(redis.sentinel->password.empty());

  auto plain = loadConfigString(withRedis(""), "conf.yaml");
  REQUIRE(plain.ok());
  CHECK_FALSE((*plain)->store.redis->sentinel.has_value());
}

TEST_CASE("store.redis.sentinel: bad settings get an error naming the key") {
  struct Row {
    std::string redis;    // the store.redis map, flow style
    std::string message;  // a substring
  };
  const Row rows[] = {
      {"{ timeout: 25ms }", "store.redis.url: missing"},
      {"{ sentinel: { sentinels: [127.0.0.1:26379] } }", "store.redis.sentinel.master_name: missing"},
      {"{ sentinel: { master_name: \"\", sentinels: [127.0.0.1:26379] } }", "store.redis.sentinel.master_name"},
      {"{ sentinel: { master_name: m } }", "store.redis.sentinel.sentinels: missing"},
      {"{ sentinel: { master_name: m, sentinels: [] } }", "store.redis.sentinel.sentinels: expected a non-empty list"},
      {"{ sentinel: { master_name: m, sentinels: 127.0.0.1:26379 } }", "store.redis.sentinel.sentinels: expected"},
      {"{ sentinel: { master_name: m, sentinels: [nonsense] } }", "store.redis.sentinel.sentinels[0]"},
      {"{ sentinel: { master_name: m, sentinels: [\"unix:/run/s.sock\"] } }",
       "store.redis.sentinel.sentinels[0]: a sentinel is reached over TCP"},
      {"{ sentinel: { master_name: m, sentinels: [127.0.0.1:1], password_file: /nonexistent/p } }",
       "store.redis.sentinel.password_file"},
      {"{ sentinel: { master_name: m, sentinels: [127.0.0.1:1], master: x } }", "unknown key store.redis.sentinel.master"},
      {"{ sentinel: cache }", "store.redis.sentinel: expected a map"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.redis);
    auto result = loadConfigString(kUpstreamYaml + "store:\n  redis: " + row.redis + "\n", "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(!result.error().empty());
    bool found = false;
    for (const auto& error : result.error()) found = found || error.message.find(row.message) != std::string::npos;
    CHECK_MESSAGE(found, result.error()[0].message);
  }
}

TEST_CASE("store.redis.cluster: the seed nodes are read; url is then not needed") {
  auto result = loadConfigString(kUpstreamYaml +
                                     "store:\n  redis:\n    cluster:\n"
                                     "      nodes: [127.0.0.1:7000, \"[::1]:7001\", redis-2.internal:7002]\n",
                                 "conf.yaml");
  REQUIRE(result.ok());
  const RedisConfig& redis = *(*result)->store.redis;
  REQUIRE(redis.cluster.has_value());
  REQUIRE(redis.cluster->nodes.size() == 3);
  CHECK(redis.cluster->nodes[0].host == "127.0.0.1");
  CHECK(redis.cluster->nodes[0].port == 7000);
  CHECK(redis.cluster->nodes[1].host == "::1");
  CHECK(redis.cluster->nodes[2].host == "redis-2.internal");
  CHECK_FALSE(redis.sentinel.has_value());

  auto plain = loadConfigString(withRedis(""), "conf.yaml");
  REQUIRE(plain.ok());
  CHECK_FALSE((*plain)->store.redis->cluster.has_value());
}

TEST_CASE("store.redis.cluster: bad settings get an error naming the key") {
  struct Row {
    std::string redis;    // the store.redis map, flow style
    std::string message;  // a substring
  };
  const Row rows[] = {
      {"{ cluster: [127.0.0.1:7000] }", "store.redis.cluster: expected a map"},
      {"{ cluster: {} }", "store.redis.cluster.nodes: missing"},
      {"{ cluster: { nodes: [] } }", "store.redis.cluster.nodes: expected a non-empty list"},
      {"{ cluster: { nodes: 127.0.0.1:7000 } }", "store.redis.cluster.nodes: expected a non-empty list"},
      {"{ cluster: { nodes: [127.0.0.1] } }", "store.redis.cluster.nodes[0]"},
      {"{ cluster: { nodes: [127.0.0.1:7000, \"unix:///run/redis.sock\"] } }", "store.redis.cluster.nodes[1]"},
      {"{ cluster: { nodes: [127.0.0.1:7000], seeds: 3 } }", "store.redis.cluster.seeds"},
      {"{ url: \"redis://127.0.0.1:6379/0\", cluster: { nodes: [127.0.0.1:7000] } }",
       "store.redis.cluster: set url, sentinel or cluster, not more than one"},
      {"{ cluster: { nodes: [127.0.0.1:7000] }, sentinel: { master_name: m, sentinels: [127.0.0.1:26379] } }",
       "store.redis.cluster: set url, sentinel or cluster, not more than one"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.redis);
    auto result = loadConfigString(kUpstreamYaml + "store:\n  redis: " + row.redis + "\n", "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(!result.error().empty());
    CHECK(result.error()[0].message.find(row.message) != std::string::npos);
  }
}

TEST_CASE("store.redis.cluster: the distributed lock is accepted (a ClusterFillLock routes it by slot)") {
  auto result = loadConfigString(kUpstreamYaml +
                                     "store:\n  redis:\n    cluster: { nodes: [127.0.0.1:7000] }\n"
                                     "cache:\n  distributed_lock: { enabled: true, ttl: 2s }\n",
                                 "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->store.redis->cluster.has_value());
  CHECK((*result)->cache.distributed_lock.enabled);
  CHECK((*result)->cache.distributed_lock.ttl == std::chrono::seconds(2));
  // Its bad values are still refused with a cluster.
  auto bad = loadConfigString(kUpstreamYaml +
                                  "store:\n  redis:\n    cluster: { nodes: [127.0.0.1:7000] }\n"
                                  "cache:\n  distributed_lock: { enabled: maybe }\n",
                              "conf.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error()[0].message.find("cache.distributed_lock.enabled") != std::string::npos);
}
