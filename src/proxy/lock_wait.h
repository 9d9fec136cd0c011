// LockWait: a fill leader's part in the distributed lock (cache/fill_lock.h).
//
// Owned by the Exchange that leads an in-process fill, before it goes
// upstream. It tries the lock. When another instance holds it, it waits for
// that instance's notice or for the lock to expire (a timer at the lock's
// remaining TTL: an owner that died is noticed without polling Redis), and
// then asks the Exchange to look the entry up again; a miss comes back as
// start() (try again). The whole wait is bounded by `deadline`
// (cache.lock_timeout): past it the Exchange fetches anyway, as nginx's
// proxy_cache_lock_timeout does. A store failure means fetch now, coalesced
// in this process only (DESIGN invariant 5).
//
// The watch on the lock's notices is registered before the first attempt,
// so a notice published right after a lost attempt is not missed.
//
// stop() (and destroying it) cancels what is in flight, and releases a lock
// it still holds as abandoned (its waiters elsewhere then fetch at once).
// Its owner never destroys it inside `on_step`: it stops it and destroys it
// on a later turn (net::Graveyard).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "base/time.h"
#include "cache/fill_lock.h"
#include "net/loop.h"
#include "net/timer.h"

namespace larder::proxy {

class LockWait {
 public:
  enum class Step {
    kFetch,   // go upstream: under the lock if isHeld(), else without it
    kLookUp,  // the owner's fill ended or its lock expired: look up again
  };
  using StepCallback = std::function<void(Step)>;

  LockWait(cache::FillLock& lock, net::Loop& loop, cache::LockName name,
           std::chrono::milliseconds ttl, base::MonoTime deadline, StepCallback on_step);
  ~LockWait();
  LockWait(const LockWait&) = delete;
  LockWait& operator=(const LockWait&) = delete;

  // Tries the lock; `on_step` runs once per start(), later, or inline when
  // the deadline has passed already.
  void start();
  // Nothing more is heard from it: its attempt, watch and timer are
  // cancelled, a lock still held is released as abandoned. Callable from
  // inside `on_step`; idempotent.
  void stop();
  bool isHeld() const { return held_; }

  // The lock this wait holds, for whoever now owns its release.
  struct Held {
    cache::LockName name;
    std::string token;
  };
  Held takeHeld();
  // Releases a lock this wait holds, announcing `end`.
  void release(cache::FillEnd end);

 private:
  enum class Phase { kIdle, kAcquiring, kWaiting };

  void onAttempt(const cache::LockAttempt& attempt);
  void onEvent(cache::WatchEvent event);
  void wait(std::chrono::milliseconds remaining);
  void onTimer();
  std::chrono::milliseconds budget() const;

  cache::FillLock& lock_;
  const cache::LockName name_;
  const std::string token_;
  const std::chrono::milliseconds ttl_;
  const base::MonoTime deadline_;
  StepCallback on_step_;
  Phase phase_ = Phase::kIdle;
  bool held_ = false;
  // The timer runs out the budget rather than the lock: when it fires the
  // wait is over, whatever the clocks say (libuv's loop time can lag).
  bool timer_ends_budget_ = false;
  bool budget_spent_ = false;
  // A notice that arrived while an attempt was in flight.
  std::optional<cache::WatchEvent> early_event_;
  cache::Pending watch_;
  cache::Pending attempt_;
  net::Timer timer_;
};

}  // namespace larder::proxy
