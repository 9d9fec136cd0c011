// The proxy's metric hooks: one call per event, so the state machine
// carries one line per metric (base/metric_catalog.h has the metrics).
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/close_reason.h"

namespace larder::proxy {

// An exchange ended: its method, its cache status ("HIT", "MISS", ..., "-"),
// the status sent (499 when the client left) and the body bytes sent.
void recordExchangeMetrics(std::string_view method, std::string_view cache_status, int status,
                           uint64_t body_bytes);
// decideStore refused a response (cache/policy.cc reason), or the capture
// was dropped ("too_big").
void recordStoreRejected(std::string_view reason);
// A write's invalidation reached the store, or not (then it is retried).
void recordInvalidation(bool ok);
void recordTierHit();
// A client connection opened / closed for `reason`.
void recordConnectionOpened();
void recordConnectionClosed(CloseReason reason);

}  // namespace larder::proxy
