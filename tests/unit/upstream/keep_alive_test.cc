#include "upstream/keep_alive.h"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>

using namespace larder::upstream;
using namespace std::chrono_literals;
using larder::base::Duration;

TEST_CASE("Keep-Alive parameters are parsed; malformed ones are ignored") {
  struct Row {
    const char* value;
    std::optional<Duration> timeout;
    std::optional<unsigned> max;
  };
  const Row rows[] = {
      {"timeout=5", 5s, std::nullopt},
      {"timeout=5, max=100", 5s, 100},
      {"max=1000,timeout=2", 2s, 1000},
      {"  Timeout = 5 ,  MAX=3 ", 5s, 3},
      {"timeout=\"7\"", 7s, std::nullopt},
      {"timeout=0", 0s, std::nullopt},
      {"timeout=3, timeout=9", 3s, std::nullopt},   // the first one wins
      {"timeout=99999999999999999999", std::chrono::seconds(86400), std::nullopt},  // clamped
      {"", std::nullopt, std::nullopt},
      {"timeout", std::nullopt, std::nullopt},
      {"timeout=", std::nullopt, std::nullopt},
      {"timeout=-1", std::nullopt, std::nullopt},
      {"timeout=5s", std::nullopt, std::nullopt},
      {"timeout=1.5", std::nullopt, std::nullopt},
      {"timeout=\"5", std::nullopt, std::nullopt},
      {"timeouts=5, max=x", std::nullopt, std::nullopt},
      {",,,=,timeout=4", 4s, std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.value);
    KeepAliveHint hint = parseKeepAlive(row.value);
    CHECK(hint.timeout == row.timeout);
    CHECK(hint.max == row.max);
  }
}

TEST_CASE("the idle limit ends before the server's announced timeout, never after idle_timeout") {
  struct Row {
    Duration configured;
    std::optional<Duration> timeout;
    std::optional<unsigned> max;
    Duration limit;
  };
  const Row rows[] = {
      {1s, std::nullopt, std::nullopt, 1s},     // no hint: as configured
      {60s, std::nullopt, 100, 60s},
      {60s, 5s, std::nullopt, 4s},              // Node, Apache: 1 s before
      {60s, 3s, std::nullopt, 2s},
      {60s, 2s, std::nullopt, 1s},              // at most twice the margin: half
      {60s, 1s, std::nullopt, 500ms},
      {1s, 5s, std::nullopt, 1s},               // idle_timeout is shorter
      {60s, 0s, std::nullopt, 0s},              // timeout=0: not reused
      {60s, 5s, 0, 0s},                         // max=0: not reused
      {60s, 5s, 1, 4s},
  };
  for (const Row& row : rows) {
    CAPTURE(row.configured.count());
    CAPTURE(row.timeout ? row.timeout->count() : -1);
    CHECK(idleLimit(row.configured, KeepAliveHint{row.timeout, row.max}) == row.limit);
  }
}

TEST_CASE("a request that cannot be resent reuses only a connection idle far below any keep-alive") {
  CHECK(kUnretryableIdleLimit < kKeepAliveMargin);
  CHECK(idleLimit(60s, KeepAliveHint{1s, std::nullopt}) > kUnretryableIdleLimit);
}
