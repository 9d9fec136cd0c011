#include "store/redis/circuit_breaker.h"

#include <algorithm>

namespace larder::store {

CircuitBreaker::CircuitBreaker(int failure_threshold)
    : threshold_(std::max(1, failure_threshold)) {}

bool CircuitBreaker::recordFailure() {
  switch (state_) {
    case State::kClosed:
      if (++failures_ < threshold_) return false;
      state_ = State::kOpen;
      return true;
    case State::kHalfOpen:
      // The probe failed: another full cooldown before the next one.
      state_ = State::kOpen;
      return true;
    case State::kOpen:
      // A command sent before the breaker opened; its timer is already set.
      return false;
  }
  return false;
}

void CircuitBreaker::recordSuccess() {
  failures_ = 0;
  state_ = State::kClosed;
}

bool CircuitBreaker::beginProbe() {
  if (state_ != State::kOpen) return false;
  state_ = State::kHalfOpen;
  return true;
}

}  // namespace larder::store
