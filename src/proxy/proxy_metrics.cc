#include "proxy/proxy_metrics.h"

#include <string>
#include <vector>

#include "base/metric_catalog.h"

namespace larder::proxy {
namespace {

namespace m = base::metrics;

std::vector<std::string_view> closeReasonLabels() {
  std::vector<std::string_view> labels;
#define LARDER_X(name, label, is_error, text) labels.push_back(label);
  LARDER_CLOSE_REASONS(LARDER_X)
#undef LARDER_X
  return labels;
}

// STYLE E4: the close-reason table names the label of every close.
base::CounterFamily connections_closed("larder_connections_closed_total",
                                       "Client connections closed, by reason.",
                                       base::labelSets("reason", closeReasonLabels()));

uint32_t slotOf(const config::Route* route) {
  return route != nullptr ? route->metric_slot : base::RouteLabels::kUnrouted;
}

}  // namespace

void recordExchangeMetrics(const config::Route* route, std::string_view method,
                           std::string_view cache_status, int status, uint64_t body_bytes,
                           std::chrono::nanoseconds duration) {
  const m::CacheResult result = m::cacheResult(cache_status);
  m::requests.add(m::index(m::methodClass(method), result), 1);
  m::request_duration.observe(m::index(result), duration);
  m::responses.add(m::statusClassIndex(status), 1);
  const bool from_cache = result == m::CacheResult::kHit || result == m::CacheResult::kStale ||
                          result == m::CacheResult::kRevalidated;
  const size_t source = m::index(from_cache ? m::ResponseSource::kCache : m::ResponseSource::kUpstream);
  m::response_body_bytes.add(source, static_cast<int64_t>(body_bytes));
  const uint32_t slot = slotOf(route);
  m::route_requests.add(slot, m::index(result), 1);
  m::route_body_bytes.add(slot, source, static_cast<int64_t>(body_bytes));
}

void recordRouteUpstreamLatency(const config::Route* route, std::chrono::nanoseconds latency) {
  m::route_upstream_seconds.observe(slotOf(route), latency);
}

void recordStoreRejected(std::string_view reason, const config::Route* route) {
  recordStoreRejected(reason, slotOf(route));
}

void recordStoreRejected(std::string_view reason, uint32_t route_slot) {
  const size_t index = m::storeRejectReasonIndex(reason);
  m::store_rejected.add(index, 1);
  m::route_store_rejected.add(route_slot, index, 1);
}

void recordShadow(const config::Route& route, m::ShadowOutcome outcome) {
  m::shadow.add(route.metric_slot, m::index(outcome), 1);
}

void recordTierHit() { m::memory_tier_hits.inc(); }

void recordInvalidation(bool ok) {
  m::invalidations.add(m::index(ok ? m::InvalidationResult::kOk : m::InvalidationResult::kFailed), 1);
}

void recordConnectionOpened() {
  m::connections_accepted.inc();
  m::connections_open.inc();
}

void recordConnectionClosed(CloseReason reason) {
  m::connections_open.dec();
  connections_closed.add(static_cast<size_t>(reason), 1);
}

void recordStoredBytes(uint64_t stored, uint64_t uncompressed) {
  m::stored_bytes.add(m::index(m::StoredForm::kStored), static_cast<int64_t>(stored));
  m::stored_bytes.add(m::index(m::StoredForm::kUncompressed), static_cast<int64_t>(uncompressed));
}

void recordDecode(std::string_view result) {
  m::cache_decodes.add(m::index(result == "none"      ? m::DecodeResult::kOk
                                : result == "too_big" ? m::DecodeResult::kTooBig
                                                      : m::DecodeResult::kCorrupt),
                       1);
}

}  // namespace larder::proxy
