#include "proxy/write_invalidation.h"

#include <algorithm>

#include "base/log.h"
#include "cache/key.h"
#include "cache/versioned_insert.h"
#include "http/target.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {

WriteInvalidation::WriteInvalidation(ProxyContext& context, const config::Config& config, Landed landed)
    : context_(context), config_(config), landed_(std::move(landed)) {}

namespace {

// What a write invalidates (see the header): its route's and URI's
// namespaces, those of Location and Content-Location on the same host when
// it has an answer, and the surrogate keys the answer named.
cache::Invalidation writeInvalidation(const config::Config& config, const WriteInvalidation::Target& target,
                                      const http::HeaderMap* answer_headers,
                                      const std::vector<std::string>* answer_keys) {
  const std::string& prefix = config.cache.key_prefix;
  std::vector<std::string> names =
      cache::writeNamespaces(target.route, *target.params, target.host, target.path);
  // RFC 9111 §4.4: Location and Content-Location on the same host too.
  for (std::string_view field : {"Location", "Content-Location"}) {
    if (answer_headers == nullptr) break;
    const std::string* value = answer_headers->find(field);
    if (value == nullptr) continue;
    auto location = http::parseTarget(*value);
    if (!location) continue;
    // target.host is the keyed host (proxy/forwarding.h): compared in the same form.
    if (!location->authority.empty() && cache::normalizeHost(location->authority) != target.host) continue;
    names.push_back(cache::uriNamespace(target.host, location->path));
  }
  cache::Invalidation invalidation;
  invalidation.version_ttl = cache::kVersionTtl;
  invalidation.epoch_key = cache::epochKey(prefix);
  for (const auto& name : names) {
    invalidation.version_keys.push_back(cache::namespaceKey(prefix, name));
    invalidation.tokens.push_back(cache::newVersionToken());
  }
  // The namespaces the application named in its answer (surrogate keys).
  if (answer_keys != nullptr) {
    for (const auto& key : *answer_keys) {
      invalidation.version_keys.push_back(key);
      invalidation.tokens.push_back(cache::newVersionToken());
    }
  }
  return invalidation;
}

// DESIGN invariant 13: once the write may have been applied, its
// invalidation either lands or waits in the backlog, whatever becomes of the
// exchange. So the first attempt is handed off (STYLE L6): its callback owns
// the attempt's Pending (nobody cancels it, so the callback runs once the
// store is done with it; it and the Pending go together when the store drops
// the callback), a copy of the invalidation and the backlog, which outlives
// every worker and so every store callback (app::SharedState). Then it
// tells `then`, if any: the exchange's half, guarded by its own liveness.
void handOff(ProxyContext& context, cache::Invalidation invalidation, cache::Store::StatusCallback then) {
  // This instance's own tier forgets at once; other instances' hear of it
  // from the store.
  context.tier.invalidate(invalidation.version_keys);
  auto attempt = std::make_shared<cache::Pending>();
  cache::InvalidationBacklog& backlog = context.backlog;
  cache::Invalidation kept = invalidation;
  *attempt = context.store.invalidate(
      std::move(invalidation),
      [attempt, &backlog, kept = std::move(kept), then = std::move(then)](cache::StoreStatus status) {
        const bool ok = status == cache::StoreStatus::kOk;
        recordInvalidation(ok);
        if (!ok) {
          // DESIGN invariant 5: kept, retried, and not served from cache
          // meanwhile (at once: the exchange may be gone, or may not live to
          // see its own retries).
          LOG_WARN("invalidation of {} namespace(s) could not reach the store; will retry",
                   kept.version_keys.size());
          backlog.add(kept);
        }
        if (then) then(status);
      });
}

}  // namespace

void WriteInvalidation::start(const Target& target, std::optional<http::ResponseHead> head,
                              const std::vector<std::string>* answer_keys,
                              std::optional<upstream::UpstreamError> error) {
  answer_.head = std::move(head);
  answer_.error = error;
  invalidation_ = writeInvalidation(config_, target, answer_.head ? &answer_.head->headers : nullptr, answer_keys);
  const auto& redis = config_.store.redis;
  deadline_ = base::MonoClock::now() + (redis ? redis->wait_for_invalidation : base::Duration(0));
  handOff(context_, invalidation_,
          net::guarded(liveness_.ref(), [this](cache::StoreStatus status) { onInvalidated(status, true); }));
}

void WriteInvalidation::abandon(ProxyContext& context, const config::Config& config, const Target& target) {
  LOG_INFO("{}{}: the client left before the write's answer; invalidating as if applied", target.host,
           target.path);
  handOff(context, writeInvalidation(config, target, nullptr, nullptr), nullptr);
}

void WriteInvalidation::stop() {
  liveness_.revoke();
  pending_.cancel();
  if (retry_) retry_->stop();
}

void WriteInvalidation::onInvalidated(cache::StoreStatus status, bool first) {
  pending_ = cache::Pending();
  const bool ok = status == cache::StoreStatus::kOk;
  if (ok && !first) context_.backlog.resolve(invalidation_);
  // Landed meanwhile through the backlog's retries?
  const bool pending = !ok && context_.backlog.isPending(invalidation_.version_keys);
  if (pending && retry()) return;
  answer_.pending = pending;
  Answer answer = std::move(answer_);
  answer_ = Answer();
  landed_(std::move(answer));
}

// store.redis.write_consistency.wait_for_invalidation: the store failed the
// invalidation, and the answer may still wait; tries again shortly (the
// store fails fast while Redis is known down, so not in a tight loop).
bool WriteInvalidation::retry() {
  constexpr base::Duration kRetryEvery{50};
  const auto now = base::MonoClock::now();
  if (now >= deadline_) return false;
  const auto wait = std::min(kRetryEvery, std::chrono::duration_cast<base::Duration>(deadline_ - now));
  if (!retry_) retry_ = std::make_unique<net::Timer>(context_.loop);
  retry_->start(std::max(wait, base::Duration(1)), [this] {
    if (!context_.backlog.isPending(invalidation_.version_keys)) {
      onInvalidated(cache::StoreStatus::kOk, false);
      return;
    }
    pending_ = context_.store.invalidate(invalidation_,
                                         [this](cache::StoreStatus status) { onInvalidated(status, false); });
  });
  return true;
}

}  // namespace larder::proxy
