#include "store/redis/circuit_breaker.h"

#include <doctest/doctest.h>

using larder::store::CircuitBreaker;
using State = CircuitBreaker::State;

TEST_CASE("breaker: opens after the threshold of consecutive failures only") {
  CircuitBreaker breaker(3);
  CHECK_FALSE(breaker.recordFailure());
  CHECK_FALSE(breaker.recordFailure());
  breaker.recordSuccess();  // not consecutive any more
  CHECK_FALSE(breaker.recordFailure());
  CHECK_FALSE(breaker.recordFailure());
  CHECK(breaker.isClosed());
  CHECK(breaker.recordFailure());
  CHECK(breaker.state() == State::kOpen);
  CHECK_FALSE(breaker.recordFailure());  // already open: nothing new to schedule
}

TEST_CASE("breaker: a probe reopens on failure and closes on success") {
  CircuitBreaker breaker(1);
  CHECK_FALSE(breaker.beginProbe());  // closed: nothing to probe
  REQUIRE(breaker.recordFailure());
  CHECK(breaker.beginProbe());
  CHECK(breaker.state() == State::kHalfOpen);
  CHECK_FALSE(breaker.isClosed());
  CHECK(breaker.recordFailure());
  CHECK(breaker.state() == State::kOpen);
  CHECK(breaker.beginProbe());
  breaker.recordSuccess();
  CHECK(breaker.isClosed());
  CHECK(breaker.consecutiveFailures() == 0);
}

TEST_CASE("recordOutcome: busy counts for nothing, failures before ready count for nothing, a success closes") {
  using Change = CircuitBreaker::Change;
  CircuitBreaker breaker(2);
  CHECK(breaker.recordOutcome(false, /*busy=*/true, /*ready=*/true) == Change::kNone);
  CHECK(breaker.recordOutcome(false, true, true) == Change::kNone);
  CHECK(breaker.consecutiveFailures() == 0);  // slow is not dead
  CHECK(breaker.recordOutcome(false, false, /*ready=*/false) == Change::kNone);
  CHECK(breaker.consecutiveFailures() == 0);  // start-up says nothing about Redis
  CHECK(breaker.recordOutcome(false, false, true) == Change::kNone);
  CHECK(breaker.recordOutcome(false, false, true) == Change::kOpened);
  CHECK(breaker.state() == CircuitBreaker::State::kOpen);
  // While open only the probe counts: late failures of earlier commands do not.
  CHECK(breaker.recordOutcome(false, false, true) == Change::kNone);
  CHECK(breaker.state() == CircuitBreaker::State::kOpen);
  CHECK(breaker.recordOutcome(true, false, true) == Change::kClosed);
  CHECK(breaker.isClosed());
  CHECK(breaker.recordOutcome(true, false, true) == Change::kNone);  // already closed
}

TEST_CASE("recordProbe: a half-open breaker closes on success and opens again on failure") {
  using Change = CircuitBreaker::Change;
  CircuitBreaker breaker(1);
  REQUIRE(breaker.recordOutcome(false, false, true) == Change::kOpened);
  REQUIRE(breaker.beginProbe());
  CHECK(breaker.recordProbe(false) == Change::kOpened);
  CHECK(breaker.state() == CircuitBreaker::State::kOpen);
  CHECK(breaker.recordProbe(false) == Change::kNone);  // no longer half-open
  REQUIRE(breaker.beginProbe());
  CHECK(breaker.recordProbe(true) == Change::kClosed);
  CHECK(breaker.isClosed());
}
