// The proxy's metric hooks: one call per event, so the state machine
// carries one line per metric (base/metric_catalog.h has the metrics).
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "base/metric_catalog.h"
#include "config/config.h"
#include "proxy/close_reason.h"

namespace larder::proxy {

// An exchange ended: its method, its cache status ("HIT", "MISS", ..., "-"),
// the status sent (499 when the client left), the body bytes sent and how
// long it took from its head read to its end; `route` is its route (nullptr: none matched), for the route-labelled
// families (config::Route::metric_slot).
void recordExchangeMetrics(const config::Route* route, std::string_view method,
                           std::string_view cache_status, int status, uint64_t body_bytes,
                           std::chrono::nanoseconds duration);
// The upstream's response head came `latency` after the request was sent.
void recordRouteUpstreamLatency(const config::Route* route, std::chrono::nanoseconds latency);
// decideStore refused a response of `route` (cache/policy.cc reason), or
// the capture was dropped ("too_big").
void recordStoreRejected(std::string_view reason, const config::Route* route);
void recordStoreRejected(std::string_view reason, uint32_t route_slot);
// A shadow route's request: what the cache would have done.
void recordShadow(const config::Route& route, base::metrics::ShadowOutcome outcome);
// A write's invalidation reached the store, or not (then it is retried).
void recordInvalidation(bool ok);
void recordTierHit();
// A client connection opened / closed for `reason`.
void recordConnectionOpened();
void recordConnectionClosed(CloseReason reason);
// Compressed entries: an entry's body sent to the store (its stored and
// uncompressed sizes), and a stored coding decoded for a client.
void recordStoredBytes(uint64_t stored, uint64_t uncompressed);
void recordDecode(std::string_view result);  // cache::toString(DecodeError): "none", "too_big", "corrupt"

}  // namespace larder::proxy
