#include "proxy/lock_wait.h"

#include <algorithm>

#include "base/log.h"
#include "base/metric_catalog.h"

namespace larder::proxy {
namespace {

void record(base::metrics::FillLockEvent event) {
  base::metrics::fill_lock_events.add(base::metrics::index(event), 1);
}

}  // namespace

LockWait::LockWait(cache::FillLock& lock, net::Loop& loop, cache::LockName name,
                   std::chrono::milliseconds ttl, base::MonoTime deadline, StepCallback on_step)
    : lock_(lock),
      name_(std::move(name)),
      token_(cache::newLockToken()),
      ttl_(ttl),
      deadline_(deadline),
      on_step_(std::move(on_step)),
      timer_(loop) {}

LockWait::~LockWait() { stop(); }

void LockWait::stop() {
  phase_ = Phase::kIdle;
  early_event_.reset();
  attempt_.cancel();
  watch_.cancel();
  timer_.stop();
  release(cache::FillEnd::kAbandoned);
}

void LockWait::start() {
  if (budget().count() <= 0) {
    record(base::metrics::FillLockEvent::kTimedOut);
    phase_ = Phase::kIdle;
    on_step_(Step::kFetch);
    return;
  }
  if (!watch_.isActive())
    watch_ = lock_.watch(name_, [this](cache::WatchEvent event) { onEvent(event); });
  phase_ = Phase::kAcquiring;
  early_event_.reset();
  attempt_ = lock_.acquire(name_, token_, ttl_,
                           [this](cache::LockAttempt attempt) { onAttempt(attempt); });
}

LockWait::Held LockWait::takeHeld() {
  held_ = false;
  return {name_, token_};
}

void LockWait::release(cache::FillEnd end) {
  if (!held_) return;
  held_ = false;
  lock_.release(name_, token_, end);
}

void LockWait::onAttempt(const cache::LockAttempt& attempt) {
  attempt_ = cache::Pending();
  phase_ = Phase::kIdle;
  switch (attempt.status) {
    case cache::LockStatus::kAcquired:
      held_ = true;
      record(base::metrics::FillLockEvent::kAcquired);
      on_step_(Step::kFetch);
      return;
    case cache::LockStatus::kUnavailable:
      LOG_DEBUG("fill lock {} unavailable; coalescing in this process only", name_.key);
      record(base::metrics::FillLockEvent::kUnavailable);
      on_step_(Step::kFetch);
      return;
    case cache::LockStatus::kHeld:
      record(base::metrics::FillLockEvent::kLost);
      if (early_event_) {
        phase_ = Phase::kWaiting;
        onEvent(*early_event_);
        return;
      }
      wait(attempt.remaining);
      return;
  }
}

void LockWait::wait(std::chrono::milliseconds remaining) {
  phase_ = Phase::kWaiting;
  const std::chrono::milliseconds left = budget();
  const std::chrono::milliseconds delay = cache::recheckDelay(remaining, left);
  timer_ends_budget_ = delay >= left;
  timer_.start(delay, [this] { onTimer(); });
}

void LockWait::onEvent(cache::WatchEvent event) {
  if (phase_ == Phase::kAcquiring) {
    early_event_ = event;
    return;
  }
  // Idle: the owner is looking up or fetching already; the notice is moot.
  if (phase_ != Phase::kWaiting) return;
  timer_.stop();
  phase_ = Phase::kIdle;
  if (event != cache::WatchEvent::kMissed) record(base::metrics::FillLockEvent::kNotified);
  // Abandoned: not shareable, so each waiting instance fetches for itself.
  on_step_(event == cache::WatchEvent::kAbandoned ? Step::kFetch : Step::kLookUp);
}

void LockWait::onTimer() {
  phase_ = Phase::kIdle;
  if (timer_ends_budget_ || budget().count() <= 0) {
    budget_spent_ = true;
    record(base::metrics::FillLockEvent::kTimedOut);
    on_step_(Step::kFetch);
    return;
  }
  // The lock expired without a notice: its owner died (or missed its TTL),
  // or the notice was lost. Either way the store says what happened.
  record(base::metrics::FillLockEvent::kExpired);
  on_step_(Step::kLookUp);
}

std::chrono::milliseconds LockWait::budget() const {
  if (budget_spent_) return std::chrono::milliseconds(0);
  return std::max(std::chrono::milliseconds(0),
                  std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ -
                                                                        base::MonoClock::now()));
}

}  // namespace larder::proxy
