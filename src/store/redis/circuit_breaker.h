// CircuitBreaker: counts consecutive Redis failures and decides when to stop
// trying (DESIGN invariant 5: a Redis that is down or slow costs requests at
// most the timeout, then nothing). Pure state, no clock: the owner times the
// cooldown and calls beginProbe() when it has elapsed.
//
//   closed   --threshold consecutive failures-->  open
//   open     --cooldown elapsed, beginProbe()-->  half-open (one probe)
//   half-open --failure--> open;  any state --success--> closed
#pragma once

namespace larder::store {

class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  explicit CircuitBreaker(int failure_threshold);
  ~CircuitBreaker();
  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Operations go to Redis only while closed; otherwise they fail fast.
  bool isClosed() const { return state_ == State::kClosed; }
  State state() const { return state_; }
  int consecutiveFailures() const { return failures_; }

  // Returns true when this failure opened the breaker: the caller then
  // schedules a probe after the cooldown.
  [[nodiscard]] bool recordFailure();
  void recordSuccess();
  // open -> half-open; returns false (and changes nothing) in other states.
  bool beginProbe();

  // One command's outcome, by the rule both Redis stores follow. `busy`: a
  // late reply on a live connection or a full queue inside larder, which
  // says Redis is slow, not failing, and counts for nothing (issue 13).
  // While open only the probe's result counts, and failures before the
  // store is `ready` (start-up) say nothing about Redis.
  enum class Change { kNone, kClosed, kOpened };
  [[nodiscard]] Change recordOutcome(bool ok, bool busy, bool ready);
  // A probe's outcome (half-open): kClosed, kOpened again, or kNone when
  // the breaker was no longer half-open.
  [[nodiscard]] Change recordProbe(bool ok);

 private:
  // Every change goes through here: it keeps larder_redis_circuit_breakers
  // (how many breakers are in each state) in step.
  void setState(State state);

  int threshold_;
  int failures_ = 0;
  State state_ = State::kClosed;
};

}  // namespace larder::store
