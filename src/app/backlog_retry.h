// BacklogRetry: one worker's retries of the process's invalidation backlog
// (cache/invalidation_backlog.h). DESIGN invariant 5: an invalidation that
// could not reach the store is retried until it lands; invariant 13: a
// stopping process does not drop it silently either.
//
// Two phases. Running (start()): one retry at a time, every
// Intervals::running, while the store's breaker is closed. Draining
// (drain(), on SIGTERM): a retry at once, then every Intervals::draining
// while the store can take one (breaker closed and a connection ready, so
// the attempts made while Redis reconnects do not open the breaker), and
// `on_idle` is told whenever the backlog is empty with nothing in flight.
// The caller bounds the drain (server.drain_timeout) by destroying this.
//
// Ownership: the worker's State owns it; it borrows the loop, the store and
// the shared backlog, which outlive it. Its retry is a Pending member:
// destroying it mid-retry detaches the reply (STYLE L4).
//
// Threading: the owning worker's loop thread only (the backlog has its own
// mutex; other workers add to it meanwhile).
#pragma once

#include <functional>
#include <string>

#include "base/time.h"
#include "cache/invalidation_backlog.h"
#include "cache/store.h"
#include "net/loop.h"
#include "net/timer.h"

namespace larder::app {

class BacklogRetry {
 public:
  struct Intervals {
    base::Duration running{200};
    // Short: the drain deadline is what bounds a stopping process.
    base::Duration draining{20};
  };

  BacklogRetry(net::Loop& loop, cache::Store& store, cache::InvalidationBacklog& backlog,
               Intervals intervals);
  BacklogRetry(const BacklogRetry&) = delete;
  BacklogRetry& operator=(const BacklogRetry&) = delete;

  // Retries every intervals.running. The timer does not keep the loop alive.
  void start();
  // The process is stopping: retries now (if the store can take one) and
  // then every intervals.draining. `on_idle` runs on this loop, never
  // inside drain(): once a retry lands and leaves the backlog empty, and on
  // every draining tick at which it is empty with no retry in flight (other
  // workers may still add to it, so it may run more than once).
  void drain(std::function<void()> on_idle);
  // Stops retrying; a retry in flight still resolves the backlog if it lands.
  void stop();

  // The backlog is empty and no retry is in flight.
  bool isIdle() const;
  bool isDraining() const { return draining_; }

 private:
  void onTick();
  void retry();

  cache::Store& store_;
  cache::InvalidationBacklog& backlog_;
  Intervals intervals_;
  net::Timer timer_;
  cache::Pending in_flight_;
  bool draining_ = false;
  std::function<void()> on_idle_;
};

// The error line for invalidations still in `backlog` when the process
// exits: how many, and the first `shown` version keys (sorted).
std::string describeLostBacklog(const cache::InvalidationBacklog& backlog, size_t shown = 5);

}  // namespace larder::app
