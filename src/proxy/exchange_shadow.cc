// Shadow routes (`mode: shadow`, issue 15): the cache decides as if the
// route were cached, but every request is forwarded and served the fresh
// answer. What the cache would have done is counted (larder_shadow_total),
// and on a sample of would-be hits the stored answer is compared with the
// fresh one, by status and body digest (cache/digest.h).
//
// The store sees what a real cache would write: a would-be miss (or a
// would-be stale answer, which a real cache refreshes behind) stores the
// fresh answer as a miss does; a would-be hit stores nothing, so entries age
// as they would and the would-hit ratio is the one the route would get.
// Entries are stored under the versions seen before the fetch, as any miss
// (DESIGN invariant 3), and never served, so writes invalidate as usual.
// X-Cache says MISS (the answer came from the upstream); Cache-Status
// carries detail=shadow_would_hit or shadow_would_miss.
#include <random>

#include "base/log.h"
#include "cache/digest.h"
#include "cache/policy.h"
#include "cache/lookup_session.h"
#include "cache/revalidation.h"
#include "proxy/exchange.h"
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

void Exchange::decideShadow(std::optional<cache::Entry> entry) {
  bool would_hit = false;
  bool refresh = false;  // a real cache would serve it stale and refresh it behind
  if (entry && !session_->clientWantsFresh()) {
    const base::WallTime now = base::WallClock::now();
    if (cache::isFresh(entry->stored_at, entry->ttl, now)) {
      would_hit = true;
    } else {
      auto windows = cache::staleWindows(entry->headers, *dest_.route, config_->cache);
      would_hit = windows.while_revalidate.count() > 0 &&
                  cache::staleness(*entry, now) <= windows.while_revalidate;
      refresh = would_hit;
    }
  }
  shadow_.verdict = would_hit ? ShadowVerdict::kWouldHit : ShadowVerdict::kWouldMiss;
  shadow_.check.cancel();
  // A HEAD or a range carries no whole body to compare.
  if (would_hit && !head_request_ && !request_.headers.has("Range") && sampled(dest_.route->shadow_sample)) {
    const cache::Digest128 digest = cache::murmur3x64_128(entry->body);
    shadow_.check.expect(entry->status, digest);
  }
  stale_.entry.reset();  // never revalidated nor served stale: the answer is fresh
  if (would_hit && !refresh) {
    report_.verdict = CacheVerdict::kMiss;
    proceedUpstream();  // a hit fetches nothing, so nothing is stored
    return;
  }
  session_->miss([this](cache::LookupOutcome&& outcome) { onLookedUp(std::move(outcome)); });
}

// The fresh body of a sampled would-be hit, kept for the comparison; past
// max_object_size the comparison is given up (DESIGN invariant 8).
void Exchange::keepShadowBody(std::string_view data) {
  shadow_.check.keep(data, config_->cache.max_object_size);
}

void Exchange::compareShadow() {
  if (!shadow_.check.isExpecting()) return;
  shadow_.check.compare(report_.status);
  if (shadow_.check.isMismatch())
    LOG_DEBUG("shadow {} {}: the stored answer differs from the fresh one", request_.method, request_.target);
}

std::string_view Exchange::shadowLabel() const {
  if (shadow_.verdict == ShadowVerdict::kNone) return {};
  if (shadow_.check.isMismatch()) return "mismatch";
  return shadow_.verdict == ShadowVerdict::kWouldHit ? "would_hit" : "would_miss";
}

void Exchange::recordShadowOutcome() {
  using Outcome = base::metrics::ShadowOutcome;
  if (shadow_.verdict == ShadowVerdict::kNone) return;
  recordShadow(*dest_.route, shadow_.verdict == ShadowVerdict::kWouldHit ? Outcome::kWouldHit : Outcome::kWouldMiss);
  if (shadow_.check.isCompared()) recordShadow(*dest_.route, Outcome::kCompared);
  if (shadow_.check.isMismatch()) recordShadow(*dest_.route, Outcome::kMismatch);
}

}  // namespace larder::proxy
