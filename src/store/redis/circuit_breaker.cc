#include "store/redis/circuit_breaker.h"

#include <algorithm>

#include "base/metric_catalog.h"

namespace larder::store {

CircuitBreaker::CircuitBreaker(int failure_threshold)
    : threshold_(std::max(1, failure_threshold)) {
  base::metrics::redis_breakers.add(static_cast<size_t>(state_), 1);
}

CircuitBreaker::~CircuitBreaker() { base::metrics::redis_breakers.add(static_cast<size_t>(state_), -1); }

void CircuitBreaker::setState(State state) {
  if (state == state_) return;
  base::metrics::redis_breakers.add(static_cast<size_t>(state_), -1);
  base::metrics::redis_breakers.add(static_cast<size_t>(state), 1);
  if (state == State::kOpen && state_ == State::kClosed) base::metrics::redis_breaker_opened.inc();
  state_ = state;
}

bool CircuitBreaker::recordFailure() {
  switch (state_) {
    case State::kClosed:
      if (++failures_ < threshold_) return false;
      setState(State::kOpen);
      return true;
    case State::kHalfOpen:
      // The probe failed: another full cooldown before the next one.
      setState(State::kOpen);
      return true;
    case State::kOpen:
      // A command sent before the breaker opened; its timer is already set.
      return false;
  }
  return false;
}

void CircuitBreaker::recordSuccess() {
  failures_ = 0;
  setState(State::kClosed);
}

CircuitBreaker::Change CircuitBreaker::recordOutcome(bool ok, bool busy, bool ready) {
  if (busy) return Change::kNone;
  if (ok) {
    const bool was_closed = isClosed();
    recordSuccess();
    return was_closed ? Change::kNone : Change::kClosed;
  }
  if (!isClosed() || !ready) return Change::kNone;
  return recordFailure() ? Change::kOpened : Change::kNone;
}

CircuitBreaker::Change CircuitBreaker::recordProbe(bool ok) {
  if (ok) {
    const bool was_closed = isClosed();
    recordSuccess();
    return was_closed ? Change::kNone : Change::kClosed;
  }
  return state_ == State::kHalfOpen && recordFailure() ? Change::kOpened : Change::kNone;
}

bool CircuitBreaker::beginProbe() {
  if (state_ != State::kOpen) return false;
  setState(State::kHalfOpen);
  return true;
}

}  // namespace larder::store
