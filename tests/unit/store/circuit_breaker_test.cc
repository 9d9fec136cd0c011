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
