// cache.distributed_lock: its defaults, its values, and its mistakes.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;
using namespace std::chrono_literals;

namespace {

const std::string kRedis = "store:\n  redis: { url: \"redis://127.0.0.1:6379/0\" }\n";

std::string withLock(const std::string& lock, const std::string& store = kRedis) {
  return kUpstreamYaml + store + "cache:\n  distributed_lock: " + lock + "\n";
}

}  // namespace

TEST_CASE("distributed_lock: off by default, with a 10s TTL") {
  auto result = loadConfigString(kUpstreamYaml, "conf.yaml");
  REQUIRE(result.ok());
  CHECK_FALSE((*result)->cache.distributed_lock.enabled);
  CHECK((*result)->cache.distributed_lock.ttl == 10s);
}

TEST_CASE("distributed_lock: enabled with Redis, and its TTL") {
  auto result = loadConfigString(withLock("{ enabled: true, ttl: 1500ms }"), "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->cache.distributed_lock.enabled);
  CHECK((*result)->cache.distributed_lock.ttl == 1500ms);
  // Off needs no Redis.
  CHECK(loadConfigString(withLock("{ enabled: false }", ""), "conf.yaml").ok());
}

TEST_CASE("distributed_lock: bad values get an error naming the key, at its line") {
  struct Row {
    std::string yaml;
    std::string message;  // a substring
    int line;
  };
  const Row rows[] = {
      {withLock("{ enabled: yes }"),
       "cache.distributed_lock.enabled: expected true or false, got \"yes\"", 6},
      {withLock("{ enabled: [true] }"), "cache.distributed_lock.enabled: expected true or false",
       6},
      {withLock("{ ttl: 0s }"), "cache.distributed_lock.ttl: must be greater than 0", 6},
      {withLock("{ ttl: -1s }"), "cache.distributed_lock.ttl: invalid duration \"-1s\"", 6},
      {withLock("{ ttl: 10 }"), "cache.distributed_lock.ttl: invalid duration \"10\"", 6},
      {withLock("{ ttl: forever }"), "cache.distributed_lock.ttl: invalid duration", 6},
      {withLock("{ enable: true }"),
       "unknown key cache.distributed_lock.enable (did you mean enabled?)", 6},
      {withLock("true"), "cache.distributed_lock: expected a mapping, got a scalar", 6},
      // Without Redis there is nothing to share the lock through.
      {withLock("{ enabled: true }", ""), "cache.distributed_lock.enabled: needs store.redis", 4},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    auto result = loadConfigString(row.yaml, "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() == 1);
    const ConfigError& error = result.error()[0];
    CHECK(error.message.find(row.message) != std::string::npos);
    CHECK(error.line == row.line);
  }
}

TEST_CASE("distributed_lock: an invalid store.redis is reported once, not as a missing one") {
  auto result = loadConfigString(
      withLock("{ enabled: true }", "store:\n  redis: { url: \"http://nope\" }\n"), "conf.yaml");
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.error().size() == 1);
  CHECK(result.error()[0].message.find("store.redis.url") != std::string::npos);
}
