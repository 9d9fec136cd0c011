#include "proxy/shadow_route.h"

#include <random>

#include "cache/digest.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {
namespace {

bool sampled(double fraction) {
  if (fraction >= 1.0) return true;
  if (fraction <= 0.0) return false;
  thread_local std::minstd_rand generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(generator) < fraction;
}

}  // namespace

bool ShadowRoute::decide(const std::optional<cache::Entry>& entry, bool client_wants_fresh,
                         const config::Route& route, const config::CacheConfig& cache, bool comparable) {
  bool would_hit = false;
  bool refresh = false;  // a real cache would serve it stale and refresh it behind
  if (entry && !client_wants_fresh) {
    const base::WallTime now = base::WallClock::now();
    if (cache::isFresh(entry->stored_at, entry->ttl, now)) {
      would_hit = true;
    } else {
      auto windows = cache::staleWindows(entry->headers, route, cache);
      would_hit = windows.while_revalidate.count() > 0 && cache::staleness(*entry, now) <= windows.while_revalidate;
      refresh = would_hit;
    }
  }
  verdict_ = would_hit ? Verdict::kWouldHit : Verdict::kWouldMiss;
  check_.cancel();
  if (would_hit && comparable && sampled(route.shadow_sample))
    check_.expect(entry->status, cache::murmur3x64_128(entry->body));
  return !would_hit || refresh;  // a hit fetches nothing, so nothing is stored
}

bool ShadowRoute::compare(int status) {
  if (!check_.isExpecting()) return false;
  check_.compare(status);
  return check_.isMismatch();
}

std::string_view ShadowRoute::cacheStatusDetail() const {
  if (verdict_ == Verdict::kNone) return {};
  return verdict_ == Verdict::kWouldHit ? "shadow_would_hit" : "shadow_would_miss";
}

std::string_view ShadowRoute::label() const {
  if (verdict_ == Verdict::kNone) return {};
  if (check_.isMismatch()) return "mismatch";
  return verdict_ == Verdict::kWouldHit ? "would_hit" : "would_miss";
}

void ShadowRoute::record(const config::Route& route) const {
  using Outcome = base::metrics::ShadowOutcome;
  if (verdict_ == Verdict::kNone) return;
  recordShadow(route, verdict_ == Verdict::kWouldHit ? Outcome::kWouldHit : Outcome::kWouldMiss);
  if (check_.isCompared()) recordShadow(route, Outcome::kCompared);
  if (check_.isMismatch()) recordShadow(route, Outcome::kMismatch);
}

}  // namespace larder::proxy
