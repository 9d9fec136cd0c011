// upstream.idle_timeout and upstream.passive_health: defaults, values, mistakes.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"

using namespace larder::config;
using namespace std::chrono_literals;

namespace {

std::string withUpstream(const std::string& lines) {
  return "upstream:\n  servers: [127.0.0.1:8000, 127.0.0.1:8001]\n" + lines;
}

}  // namespace

TEST_CASE("upstream defaults: 1s idle timeout (below app servers' keep-alive), 3 failures, 5s cooldown") {
  auto result = loadConfigString(withUpstream(""), "conf.yaml");
  REQUIRE(result.ok());
  const UpstreamConfig& upstream = (*result)->upstream;
  CHECK(upstream.idle_timeout == 1s);
  CHECK(upstream.passive_health.failures == 3);
  CHECK(upstream.passive_health.cooldown == 5s);
  CHECK(upstream.resolve_interval == 10s);
}

TEST_CASE("upstream servers may be DNS names; resolve_interval sets how often they are looked up") {
  auto result = loadConfigString("upstream:\n  servers: [api:8000, \"backend.internal:81\"]\n"
                                 "  resolve_interval: 2s\n", "conf.yaml");
  REQUIRE(result.ok());
  REQUIRE((*result)->upstream.servers.size() == 2);
  CHECK((*result)->upstream.servers[0].host == "api");
  CHECK((*result)->upstream.servers[1].toString() == "backend.internal:81");
  CHECK((*result)->upstream.resolve_interval == 2s);
}

TEST_CASE("upstream.passive_health: its values, and 0 failures turns it off") {
  auto result = loadConfigString(withUpstream("  passive_health: { failures: 5, cooldown: 1500ms }\n"), "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->upstream.passive_health.failures == 5);
  CHECK((*result)->upstream.passive_health.cooldown == 1500ms);
  result = loadConfigString(withUpstream("  passive_health: { failures: 0 }\n"), "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->upstream.passive_health.failures == 0);
}

TEST_CASE("upstream.passive_health: bad values get an error naming the key, at its line") {
  struct Row {
    std::string yaml;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {"  passive_health: { failures: -1 }\n", "upstream.passive_health.failures"},
      {"  passive_health: { failures: many }\n", "upstream.passive_health.failures"},
      {"  passive_health: { failures: 1001 }\n", "upstream.passive_health.failures"},
      {"  passive_health: { cooldown: 0s }\n", "upstream.passive_health.cooldown: must be greater than 0"},
      {"  passive_health: { cooldown: soon }\n", "upstream.passive_health.cooldown: invalid duration"},
      {"  passive_health: { failure: 3 }\n", "unknown key upstream.passive_health.failure"},
      {"  passive_health: 3\n", "upstream.passive_health: expected a mapping, got a scalar"},
      {"  idle_timeout: 0s\n", "upstream.idle_timeout: must be greater than 0"},
      {"  resolve_interval: 0s\n", "upstream.resolve_interval: must be greater than 0"},
      {"  resolve_interval: often\n", "upstream.resolve_interval: invalid duration"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    auto result = loadConfigString(withUpstream(row.yaml), "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() == 1);
    const ConfigError& error = result.error()[0];
    CHECK(error.message.find(row.message) != std::string::npos);
    CHECK(error.line == 3);
  }
}

TEST_CASE("upstream.health_check: absent by default; its values; expect as a status or a class") {
  auto result = loadConfigString(withUpstream(""), "conf.yaml");
  REQUIRE(result.ok());
  CHECK_FALSE((*result)->upstream.health_check.has_value());

  result = loadConfigString(
      withUpstream("  health_check: { path: /healthz, interval: 2s, timeout: 300ms, expect: 204 }\n"), "conf.yaml");
  REQUIRE(result.ok());
  REQUIRE((*result)->upstream.health_check.has_value());
  const HealthCheckConfig& check = *(*result)->upstream.health_check;
  CHECK(check.path == "/healthz");
  CHECK(check.interval == 2s);
  CHECK(check.timeout == 300ms);
  CHECK(check.matches(204));
  CHECK_FALSE(check.matches(200));

  result = loadConfigString(withUpstream("  health_check: { expect: 2xx }\n"), "conf.yaml");
  REQUIRE(result.ok());
  const HealthCheckConfig& any2xx = *(*result)->upstream.health_check;
  CHECK(any2xx.path == "/");
  CHECK(any2xx.interval == 5s);
  CHECK(any2xx.timeout == 1s);
  CHECK(any2xx.matches(200));
  CHECK(any2xx.matches(299));
  CHECK_FALSE(any2xx.matches(301));

  result = loadConfigString(withUpstream("  health_check: {}\n"), "conf.yaml");
  REQUIRE(result.ok());
  CHECK((*result)->upstream.health_check->matches(200));
}

TEST_CASE("upstream.health_check: bad values get an error naming the key") {
  const char* rows[][2] = {
      {"  health_check: { path: healthz }\n", "upstream.health_check.path: must start with /"},
      {"  health_check: { path: \"/a b\" }\n", "upstream.health_check.path: must start with /"},
      {"  health_check: { path: \"\" }\n", "upstream.health_check.path"},
      {"  health_check: { interval: 0s }\n", "upstream.health_check.interval: must be greater than 0"},
      {"  health_check: { timeout: fast }\n", "upstream.health_check.timeout: invalid duration"},
      {"  health_check: { expect: 700 }\n", "upstream.health_check.expect: expected a status (200) or a class (2xx)"},
      {"  health_check: { expect: 2xy }\n", "upstream.health_check.expect: expected a status"},
      {"  health_check: { expect: [200] }\n", "upstream.health_check.expect: expected a status (200) or a class (2xx)"},
      {"  health_check: { method: HEAD }\n", "unknown key upstream.health_check.method"},
      {"  health_check: /healthz\n", "upstream.health_check: expected a mapping, got a scalar"},
  };
  for (const auto& row : rows) {
    CAPTURE(row[0]);
    auto result = loadConfigString(withUpstream(row[0]), "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() == 1);
    CHECK(result.error()[0].message.find(row[1]) != std::string::npos);
  }
}

TEST_CASE("upstream.servers: {url, weight, backup} beside the plain form; defaults weight 1, not a backup") {
  auto result = loadConfigString("upstream:\n  servers:\n    - {url: 127.0.0.1:8000, weight: 3}\n"
                                 "    - 127.0.0.1:8001\n"
                                 "    - {url: \"https://api.example:8443\", backup: true}\n",
                                 "conf.yaml");
  REQUIRE(result.ok());
  const auto& servers = (*result)->upstream.servers;
  REQUIRE(servers.size() == 3);
  CHECK(servers[0].toString() == "127.0.0.1:8000");
  CHECK(servers[0].weight == 3);
  CHECK_FALSE(servers[0].backup);
  CHECK(servers[1].weight == 1);
  CHECK_FALSE(servers[1].backup);
  CHECK(servers[2].host == "api.example");
  CHECK(servers[2].tls);
  CHECK(servers[2].backup);
  CHECK(servers[2].weight == 1);
  CHECK((*result)->upstream.tls.has_value());
}

TEST_CASE("upstream.servers: bad weights, backups and server mappings get an error naming the key") {
  struct Row {
    std::string yaml;
    std::string message;  // a substring
  };
  const Row rows[] = {
      {"[{url: 127.0.0.1:1, weight: 0}]", "upstream.servers[0].weight"},
      {"[{url: 127.0.0.1:1, weight: -2}]", "upstream.servers[0].weight"},
      {"[{url: 127.0.0.1:1, weight: 1001}]", "upstream.servers[0].weight"},
      {"[{url: 127.0.0.1:1, weight: heavy}]", "upstream.servers[0].weight"},
      {"[{url: 127.0.0.1:1, backup: maybe}]", "upstream.servers[0].backup"},
      {"[{url: 127.0.0.1:1, wieght: 2}]", "unknown key upstream.servers[0].wieght"},
      {"[{weight: 2}]", "upstream.servers[0].url: missing"},
      {"[{url: nowhere}]", "upstream.servers[0].url: invalid address \"nowhere\""},
      {"[{url: [127.0.0.1:1]}]", "upstream.servers[0].url"},
      {"[{url: 127.0.0.1:1, backup: true}]", "upstream.servers: every server is a backup"},
      {"[127.0.0.1:2, [127.0.0.1:1]]", "upstream.servers[1]: expected an address, or {url, weight, backup}"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    auto result = loadConfigString("upstream:\n  servers: " + row.yaml + "\n", "conf.yaml");
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.error().size() == 1);
    CHECK(result.error()[0].message.find(row.message) != std::string::npos);
    CHECK(result.error()[0].line == 2);
  }
}
