// ShadowRoute: a shadow route's request (`mode: shadow`, issue 15). The
// cache decides as if the route were cached, but every request is
// forwarded and served the fresh answer. What the cache would have done is
// counted (larder_shadow_total), and on a sample of would-be hits the
// stored answer is compared with the fresh one, by status and body digest
// (cache/digest.h, proxy/shadow_comparison.h).
//
// The store sees what a real cache would write: a would-be miss (or a
// would-be stale answer, which a real cache refreshes behind) stores the
// fresh answer as a miss does, through the leading request's `capture`; a
// would-be hit stores nothing, so entries age as they would and the
// would-hit ratio is the one the route would get. Entries are stored under
// the versions seen before the fetch, as any miss (DESIGN invariant 3), and
// never served, so writes invalidate as usual. X-Cache says MISS (the
// answer came from the upstream); Cache-Status carries
// detail=shadow_would_hit or shadow_would_miss.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "cache/entry_codec.h"
#include "config/config.h"
#include "proxy/capture.h"
#include "proxy/shadow_comparison.h"

namespace larder::proxy {

class ShadowRoute {
 public:
  // What the cache would do with `entry` (the lookup's find; none: a
  // miss). True when a real cache would store the fresh answer (a
  // would-be miss or stale refresh): the request then misses as usual;
  // false when it would have been a hit, and only forwarded. `comparable`:
  // the request asks for a whole body (no HEAD, no Range).
  bool decide(const std::optional<cache::Entry>& entry, bool client_wants_fresh, const config::Route& route,
              const config::CacheConfig& cache, bool comparable);
  bool isShadow() const { return verdict_ != Verdict::kNone; }

  // The fresh body as it streams, kept for a sampled comparison; past
  // `max` (max_object_size) the comparison is given up (DESIGN invariant 8).
  void keep(std::string_view data, size_t max) { check_.keep(data, max); }
  // The fresh answer is complete: compared, if sampled. True on a mismatch.
  bool compare(int status);

  std::string_view cacheStatusDetail() const;  // Cache-Status detail; empty when not shadow
  std::string_view label() const;              // for the access log; empty when not shadow
  void record(const config::Route& route) const;  // larder_shadow_total

  // The leading would-be miss's capture of the fresh answer for the store
  // (null otherwise, and once it is given up).
  std::unique_ptr<Capture> capture;

 private:
  enum class Verdict { kNone, kWouldHit, kWouldMiss };
  Verdict verdict_ = Verdict::kNone;
  ShadowComparison check_;
};

}  // namespace larder::proxy
