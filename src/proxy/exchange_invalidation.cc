// A write's part of an Exchange (RFC 9111 §4.4, DESIGN invariant 3): its
// non-error answer invalidates the route's namespaces, its URI's, those of
// Location and Content-Location on the same host, and the surrogate keys it
// names, before the answer reaches the client. A write that reached the
// upstream but got no answer head back (a timeout, a reset, a broken
// answer) may have been applied: it invalidates the route's namespaces and
// its URI's before larder answers 502 or 504 (DESIGN invariant 13). Only an
// error status from the upstream says the write was not applied.
#include "base/log.h"
#include "cache/key.h"
#include "cache/versioned_insert.h"
#include "http/serializer.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {

void Exchange::invalidateBeforeAnswer(http::ResponseHead& head) {
  write_.head = std::move(head);
  invalidate(&write_.head->headers);
}

// False when nothing can have reached the upstream: no attempt connected.
// An upstream down is then no reason to drop entries that stale_if_error
// could still serve. A write resent after its first attempt went out and
// whose resend could not connect still counts as sent (DESIGN invariant 13).
bool Exchange::invalidateUnanswered(upstream::UpstreamError error) {
  if (upstream_ == nullptr || !upstream_->mayHaveReachedServer()) return false;
  LOG_INFO("{} {}: no answer from the upstream ({}); invalidating as if applied", request_.method,
           request_.target, upstream::toString(error));
  write_.error = error;
  invalidate(nullptr);
  return true;
}

// `answer_headers`: the upstream's non-error answer (its Location and
// surrogate keys count too), or null when none came back.
void Exchange::invalidate(const http::HeaderMap* answer_headers) {
  const std::string& prefix = config_->cache.key_prefix;
  std::vector<std::string> names = cache::writeNamespaces(dest_.route, dest_.params, dest_.host, dest_.path);
  // RFC 9111 §4.4: Location and Content-Location on the same host too.
  for (std::string_view field : {"Location", "Content-Location"}) {
    if (answer_headers == nullptr) break;
    const std::string* value = answer_headers->find(field);
    if (value == nullptr) continue;
    auto target = http::parseTarget(*value);
    if (!target) continue;
    // dest_.host is the keyed host (proxy/forwarding.h): compared in the same form.
    if (!target->authority.empty() && cache::normalizeHost(target->authority) != dest_.host) continue;
    names.push_back(cache::uriNamespace(dest_.host, target->path));
  }
  cache::Invalidation invalidation;
  invalidation.version_ttl = cache::kVersionTtl;
  invalidation.epoch_key = cache::epochKey(prefix);
  for (const auto& name : names) {
    invalidation.version_keys.push_back(cache::namespaceKey(prefix, name));
    invalidation.tokens.push_back(cache::newVersionToken());
  }
  // The namespaces the application named in its answer (surrogate keys).
  if (answer_keys_) {
    for (const auto& key : *answer_keys_) {
      invalidation.version_keys.push_back(key);
      invalidation.tokens.push_back(cache::newVersionToken());
    }
  }
  // This instance's own tier forgets at once; other instances' hear of it
  // from the store.
  context_.tier.invalidate(invalidation.version_keys);
  write_.invalidation = invalidation;
  setState(ExchangeState::kInvalidating);
  // What arrives meanwhile is held: at most the rest of the read that
  // carried the head (DESIGN invariant 12).
  if (upstream_ != nullptr) upstream_->pauseReading();
  const auto& redis = config_->store.redis;
  write_.deadline = base::MonoClock::now() + (redis ? redis->wait_for_invalidation : base::Duration(0));
  write_.pending = context_.store.invalidate(
      std::move(invalidation), [this](cache::StoreStatus status) { onInvalidated(status, true); });
}

void Exchange::onInvalidated(cache::StoreStatus status, bool first) {
  write_.pending = cache::Pending();
  const bool ok = status == cache::StoreStatus::kOk;
  if (first) recordInvalidation(ok);
  if (!ok && first) {
    // DESIGN invariant 5: kept, retried, and not served from cache meanwhile
    // (at once: this exchange may not live to see its own retries).
    LOG_WARN("invalidation of {} namespace(s) could not reach the store; will retry",
             write_.invalidation.version_keys.size());
    context_.backlog.add(write_.invalidation);
  }
  if (ok && !first) context_.backlog.resolve(write_.invalidation);
  // Landed meanwhile through the backlog's retries?
  const bool pending = !ok && context_.backlog.isPending(write_.invalidation.version_keys);
  if (pending && retryInvalidation()) return;
  if (write_.error) {
    // No answer, or one that broke before any of it left: held back whole.
    write_.head.reset();
    std::string().swap(write_.body);
    replyUpstreamFailed(*write_.error);
    return;
  }
  http::ResponseHead head = std::move(*write_.head);
  write_.head.reset();
  // Other instances may serve pre-write entries until it lands: the client
  // is told (README "What a write guarantees").
  if (pending) head.headers.set("Larder-Invalidation", "pending");
  sendResponseHead(head);
  if (!write_.body.empty()) {
    std::string body = std::move(write_.body);
    write_.body.clear();
    writeBody(std::move(body));
  }
  if (write_.complete) {
    writeLastChunk();
    finish();
    return;
  }
  flushHead();
  if (upstream_ != nullptr) upstream_->resumeReading();
}

// store.redis.write_consistency.wait_for_invalidation: the store failed the
// invalidation, and the answer may still wait; tries again shortly (the
// store fails fast while Redis is known down, so not in a tight loop).
bool Exchange::retryInvalidation() {
  constexpr base::Duration kRetryEvery{50};
  const auto now = base::MonoClock::now();
  if (now >= write_.deadline) return false;
  const auto wait = std::min(kRetryEvery, std::chrono::duration_cast<base::Duration>(write_.deadline - now));
  if (!write_.retry) write_.retry = std::make_unique<net::Timer>(context_.loop);
  write_.retry->start(std::max(wait, base::Duration(1)), [this] {
    if (!context_.backlog.isPending(write_.invalidation.version_keys)) {
      onInvalidated(cache::StoreStatus::kOk, false);
      return;
    }
    write_.pending = context_.store.invalidate(
        write_.invalidation, [this](cache::StoreStatus status) { onInvalidated(status, false); });
  });
  return true;
}

}  // namespace larder::proxy
