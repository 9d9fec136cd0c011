#include "upstream/server_health.h"

#include <deque>
#include <mutex>

#include "base/log.h"
#include "base/metric_catalog.h"

namespace larder::upstream {

namespace m = base::metrics;

ServerHealth::ServerHealth(std::string name)
    : name_(std::move(name)), metric_index_(m::upstream_server_requests.indexOf(name_)) {
  // Every family learns the name in the same order, so one index serves all.
  m::upstream_server_failures.indexOf(name_);
  m::upstream_server_marked_down.indexOf(name_);
  m::upstream_server_up.set(m::upstream_server_up.indexOf(name_), 1);
}

ServerHealth::Admission ServerHealth::admit(uint64_t now_ms, const config::PassiveHealthConfig& config) {
  const uint64_t down_until = down_until_.load(std::memory_order_acquire);
  if (down_until == 0) return Admission::kUp;
  if (now_ms < down_until) return Admission::kDown;
  uint64_t expires = probe_expires_.load(std::memory_order_acquire);
  if (now_ms < expires) return Admission::kDown;  // another request probes
  const uint64_t next = now_ms + static_cast<uint64_t>(config.cooldown.count());
  if (!probe_expires_.compare_exchange_strong(expires, next, std::memory_order_acq_rel)) return Admission::kDown;
  LOG_INFO("upstream {}: cooldown over, probing with one request", name_);
  return Admission::kProbe;
}

ServerHealth::Admission ServerHealth::peek(uint64_t now_ms) const {
  const uint64_t down_until = down_until_.load(std::memory_order_acquire);
  if (down_until == 0) return Admission::kUp;
  if (now_ms < down_until || now_ms < probe_expires_.load(std::memory_order_acquire))
    return Admission::kDown;
  return Admission::kProbe;
}

void ServerHealth::onSuccess() {
  // Every answer comes here, from every worker: only read the shared state
  // unless it has to change, so the cache line is not written per response.
  if (failures_.load(std::memory_order_relaxed) != 0) failures_.store(0, std::memory_order_relaxed);
  if (down_until_.load(std::memory_order_acquire) != 0 && down_until_.exchange(0, std::memory_order_acq_rel) != 0) {
    probe_expires_.store(0, std::memory_order_release);
    m::upstream_server_up.set(metric_index_, 1);
    LOG_WARN("upstream {}: up again", name_);
  }
}

void ServerHealth::onFailure(uint64_t now_ms, const config::PassiveHealthConfig& config) {
  m::upstream_server_failures.add(metric_index_, 1);
  if (config.failures == 0) return;
  const unsigned failures = failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  const bool down = down_until_.load(std::memory_order_acquire) != 0;
  // A failed probe (or any failure while down) starts another cooldown.
  if (down || failures >= config.failures) markDown(now_ms, config);
}

bool ServerHealth::claimCheck(uint64_t now_ms, base::Duration interval) {
  uint64_t next = next_check_.load(std::memory_order_acquire);
  if (now_ms < next) return false;
  // Slightly early is fine: workers' timers drift against each other.
  const uint64_t period = static_cast<uint64_t>(interval.count());
  return next_check_.compare_exchange_strong(next, now_ms + period - period / 10, std::memory_order_acq_rel);
}

void ServerHealth::onCheckFailed(uint64_t now_ms, const config::PassiveHealthConfig& config) {
  failures_.store(config.failures, std::memory_order_relaxed);
  markDown(now_ms, config);
}

void ServerHealth::countFailure() { m::upstream_server_failures.add(metric_index_, 1); }

void ServerHealth::markDown(uint64_t now_ms, const config::PassiveHealthConfig& config) {
  const uint64_t until = now_ms + static_cast<uint64_t>(config.cooldown.count());
  const uint64_t before = down_until_.exchange(until, std::memory_order_acq_rel);
  probe_expires_.store(0, std::memory_order_release);
  if (before == 0) {
    m::upstream_server_up.set(metric_index_, 0);
    m::upstream_server_marked_down.add(metric_index_, 1);
    LOG_WARN("upstream {}: {} consecutive failures, marked down for {} ms", name_,
             failures_.load(std::memory_order_relaxed), config.cooldown.count());
  }
}

bool ServerHealth::isUp() const { return down_until_.load(std::memory_order_acquire) == 0; }

ServerHealth& serverHealth(std::string_view name) {
  static std::mutex mutex;
  static std::deque<ServerHealth> table;  // a deque never moves its elements
  std::lock_guard lock(mutex);
  for (ServerHealth& entry : table)
    if (entry.name() == name) return entry;
  return table.emplace_back(std::string(name));
}

}  // namespace larder::upstream
