#include "proxy/background_refresh.h"

#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/revalidation.h"
#include "cache/stored_coding.h"
#include "cache/surrogate_keys.h"
#include "http/hop_by_hop.h"
#include "http/serializer.h"

namespace larder::proxy {

BackgroundRefresh::BackgroundRefresh(BackgroundRefreshes& owner, CacheSlot slot,
                                     http::RequestHead request, cache::Entry stale)
    : owner_(owner),
      capture_(std::make_unique<Capture>(owner.store(), owner.coalescer())),
      request_(std::move(request)),
      stale_(std::move(stale)) {
  capture_->setSlot(std::move(slot));
}

BackgroundRefresh::BackgroundRefresh(BackgroundRefreshes& owner, AdoptedFetch fetch)
    : owner_(owner),
      capture_(std::move(fetch.capture)),
      request_(std::move(fetch.request)),
      stale_(std::move(fetch.stale)),
      request_time_(fetch.request_time),
      relay_(std::move(fetch.relay)),
      upstream_(std::move(fetch.upstream)) {
  relay_->retarget(*this);
  // The client may have paused reading for its own backpressure; nobody
  // paces this fetch now.
  upstream_->resumeReading();
}

void BackgroundRefresh::start(upstream::Pool& pool) {
  request_time_ = base::WallClock::now();
  cache::setUpstreamValidators(*stale_, request_.headers);
  upstream::OutgoingRequest out;
  out.method = "GET";
  out.retryable = true;
  http::appendRequestHead("GET", request_.target, request_.headers, out.head);
  upstream_ = pool.start(std::move(out), *this);
}

void BackgroundRefresh::onUpstreamHead(http::ResponseHead& head) {
  http::removeHopByHop(head.headers);
  const config::CacheConfig& cache = capture_->slot().config->cache;
  auto keys = cache::takeSurrogateKeys(head.headers, cache.key_prefix, cache.surrogate_keys);
  if (head.status == 304 && stale_ && cache::hasValidators(stale_->headers)) {
    not_modified_ = std::move(head.headers);
    if (keys) not_modified_keys_ = std::move(keys->version_keys);
    return;
  }
  if (head.status >= 500) {
    // Keep the stale entry rather than replace it with an error.
    capture_->abandon();
    done();
    return;
  }
  // Refused (e.g. a Vary beyond the key, no-store): the fill's readers
  // fetch for themselves, and nobody reads this answer.
  if (!capture_->begin("GET", request_.headers, head, request_time_,
                       keys ? std::move(keys->version_keys) : std::vector<std::string>{}))
    done();
}

void BackgroundRefresh::onUpstreamBody(std::string_view data) {
  capture_->append(data);
  if (!capture_->isSharing()) done();  // too big and nobody reading: cancelled
}

void BackgroundRefresh::onUpstreamComplete() {
  if (not_modified_) {
    capture_->renew(std::move(*stale_), *not_modified_, std::move(not_modified_keys_), request_.headers,
                    request_time_);
  } else {
    capture_->commit();
  }
  done();
}

void BackgroundRefresh::onUpstreamError(upstream::UpstreamError error) {
  LOG_INFO("background fetch of {} failed: {}", request_.target, upstream::toString(error));
  capture_->abandon();
  done();
}

void BackgroundRefresh::done() { owner_.finished(*this); }  // destroys this

void BackgroundRefreshes::start(CacheSlot slot, http::RequestHead request, const cache::Entry& stale) {
  auto refresh = std::make_unique<BackgroundRefresh>(*this, std::move(slot), std::move(request), stale);
  BackgroundRefresh& ref = *refresh;
  refreshes_.emplace(&ref, std::move(refresh));
  ref.start(pool_);
}

void BackgroundRefreshes::adopt(AdoptedFetch fetch) {
  LOG_DEBUG("adopting the fill of {} {}: its client has gone", fetch.request.method, fetch.request.target);
  base::metrics::fills_adopted.inc();
  auto refresh = std::make_unique<BackgroundRefresh>(*this, std::move(fetch));
  BackgroundRefresh& ref = *refresh;
  refreshes_.emplace(&ref, std::move(refresh));
}

}  // namespace larder::proxy
