#include "app/backlog_retry.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/log.h"
#include "base/metric_catalog.h"

namespace larder::app {

BacklogRetry::BacklogRetry(net::Loop& loop, cache::Store& store, cache::InvalidationBacklog& backlog,
                           Intervals intervals)
    : store_(store), backlog_(backlog), intervals_(intervals), timer_(loop) {}

void BacklogRetry::start() {
  timer_.unref();
  timer_.startRepeating(intervals_.running, [this] { onTick(); });
}

void BacklogRetry::drain(std::function<void()> on_idle) {
  draining_ = true;
  on_idle_ = std::move(on_idle);
  if (!backlog_.empty())
    LOG_INFO("draining: {} namespace invalidation(s) pending; retrying them until they land or the drain ends",
             backlog_.size());
  // At once, not a running interval later: the drain deadline is short.
  retry();
  timer_.startRepeating(intervals_.draining, [this] { onTick(); });
}

void BacklogRetry::stop() { timer_.stop(); }

bool BacklogRetry::isIdle() const { return !in_flight_.isActive() && backlog_.empty(); }

void BacklogRetry::onTick() {
  if (draining_ && isIdle()) {
    if (on_idle_) on_idle_();
    return;
  }
  retry();
}

void BacklogRetry::retry() {
  if (backlog_.empty() || in_flight_.isActive() || !store_.isAvailable()) return;
  // While running, a retry with no connection ready fails at once and counts
  // towards the breaker, which then paces the retries. While draining, the
  // ticks are short: wait for a connection rather than open the breaker
  // (whose cooldown would outlast a short drain).
  if (draining_ && !store_.isReady()) return;
  cache::Invalidation retried = backlog_.snapshot();
  cache::Invalidation copy = retried;
  in_flight_ = store_.invalidate(std::move(copy), [this, retried](cache::StoreStatus status) {
    in_flight_ = cache::Pending();
    if (status != cache::StoreStatus::kOk) return;
    backlog_.resolve(retried);
    base::metrics::invalidations.add(base::metrics::index(base::metrics::InvalidationResult::kRetried), 1);
    if (!draining_) {
      LOG_INFO("retried invalidation of {} namespace key(s) landed", retried.version_keys.size());
      return;
    }
    if (!backlog_.empty()) return;  // added meanwhile: the next tick sends it
    LOG_INFO("invalidation backlog flushed before exit: {} namespace key(s) landed",
             retried.version_keys.size());
    if (on_idle_) on_idle_();
  });
}

std::string describeLostBacklog(const cache::InvalidationBacklog& backlog, size_t shown) {
  const size_t lost = backlog.size();
  std::vector<std::string> keys = backlog.keys(shown);
  std::string names = fmt::format("{}", fmt::join(keys, ", "));
  if (lost > keys.size()) names += fmt::format(" and {} more", lost - keys.size());
  return fmt::format(
      "exiting with {} namespace invalidation(s) lost (not written to the store before the drain ended): {}; "
      "other instances sharing the store may serve pre-write entries in them until those expire",
      lost, names);
}

}  // namespace larder::app
