// Coalescing: the first miss on a key fetches, later ones stream its answer
// (DESIGN invariant 9). See cache/coalescer.h for the model.
#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/versioned_insert.h"
#include "cache/revalidation.h"
#include "cache/surrogate_keys.h"
#include "http/serializer.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"

namespace larder::proxy {

// `verdict` is kBypass when the store could not be asked: the versions
// are unknown then, so such requests share fills only among themselves.
void Exchange::missed(CacheVerdict verdict) {
  if (context_.vary_memo.find(primary_key_) != vary_names_) {
    // The upstream's Vary was learned while this lookup was in flight: look
    // up (and coalesce on) this request's own variant instead.
    lookUp();
    return;
  }
  cache_status_ = verdict;
  // A HEAD miss is fetched as GET so the answer can fill the cache.
  if (head_request_) upstream_method_ = "GET";
  // The versions seen are part of the fill's key: a request that saw a write's
  // new version must not join a fetch that started before it (invariant 3).
  fill_key_ = fillKey();
  auto joined = context_.coalescer.join(fill_key_, lookup_tick_);
  if (joined.leader && context_.vary_memo.find(primary_key_) != vary_names_) {
    // The Vary was learned between the check above and the join: the fill
    // this request would lead is one the learner has just released, and
    // this request's variant may be in flight already. The learner
    // publishes the Vary before releasing, so this second look is enough.
    joined.fill->abandon();
    context_.coalescer.forget(fill_key_, joined.fill);
    lookUp();
    return;
  }
  if (!joined.leader && route_->shadow) {
    proceedUpstream();  // shadow: every request reaches the upstream; the leader stores
    return;
  }
  if (!joined.leader) {
    fill_ = std::move(joined.fill);
    waitForFill();
    return;
  }
  capture_ = std::make_unique<Capture>(context_.store, context_.coalescer);
  CacheSlot slot = cacheSlot();
  slot.fill = std::move(joined.fill);
  capture_->setSlot(std::move(slot));
  // An expired entry with validators is revalidated: a 304 renews it.
  revalidate_ = stale_entry_ && cache::hasValidators(stale_entry_->headers);
  if (useFillLock() && !route_->shadow) {
    lockFill();  // exchange_lock.cc: other instances may be fetching it
    return;
  }
  proceedUpstream();
}

std::string Exchange::fillKey() const {
  std::string key = cache_status_ == CacheVerdict::kBypass ? "unavailable\n" + entry_key_ : entry_key_;
  // Only a write's token separates fills: absent keys and keys an insert
  // created mean the same (cache/versioned_insert.h). The remaining gap: a
  // write's token evicted and re-created by an insert within one fetch.
  // Surrogate keys read in advance differ between requests: named too, so
  // requests sharing a fill read the same keys (cache::fillServesLookup).
  for (size_t i = 0; i < seen_versions_.size(); ++i) {
    const auto& version = seen_versions_[i];
    bool written = version && !version->starts_with(cache::kCreatedTokenPrefix);
    key += '\n';
    if (i >= base_versions_ && i < version_keys_.size()) {
      key += version_keys_[i];
      key += '=';
    }
    key += written ? *version : std::string("-");
  }
  return key;
}

void Exchange::waitForFill() {
  setState(ExchangeState::kWaitingForFill);
  cache_report_.collapsed = true;
  // Called from whichever worker publishes; wakes us on our own loop.
  // A Sender, not the queue: our worker may stop, and its queue go, while
  // another worker is still publishing (net/loop.h).
  auto notify = [queue = context_.queue.sender(), owner = liveness_.ref(), this] {
    queue.post(owner, [this] { onFillProgress(); });
  };
  fill_waiter_ = cache::FillWaiter(fill_, std::move(notify));
  base::metrics::coalesced_requests.inc();
  base::metrics::coalesced_waiters.inc();
  fill_restarts_seen_ = 0;
  lock_timer_ = std::make_unique<net::Timer>(context_.loop);
  startLockTimer();
  onFillProgress();  // it may be complete already
}

void Exchange::startLockTimer() {
  lock_timer_->start(config_->cache.lock_timeout, [this] {
    if (fill_head_sent_) return;
    // The leader is still checking with other instances (bounded by its own
    // lock_timeout), or has just gone upstream and the news is on its way:
    // this wait starts over rather than sending everyone upstream at once.
    if (fill_) {
      cache::Fill::WaitPhase phase = fill_->waitPhase();
      if (phase.held || phase.restarts != fill_restarts_seen_) {
        fill_restarts_seen_ = phase.restarts;
        startLockTimer();
        return;
      }
    }
    LOG_DEBUG("lock timeout waiting for {}; fetching", request_.target);
    stopWaiting();
    proceedUpstream();
  });
}

void Exchange::stopWaiting() {
  if (fill_waiter_.fill() != nullptr) base::metrics::coalesced_waiters.dec();
  fill_waiter_.reset();
  fill_.reset();
  if (lock_timer_) lock_timer_->stop();
}

void Exchange::onFillProgress() {
  if (!fill_) return;
  // Each reader reads at its own pace: nothing more is taken from the fill
  // while this client's queue is full (onClientDrained reads on).
  if (fill_head_sent_ && client_.writeQueueBytes() > kClientHighWater) return;
  // A piece at a time: this client's queue holds at most about twice the
  // high-water mark of the fill's answer (a HEAD writes no body: all of it).
  cache::Fill::Progress progress = fill_->read(fill_offset_, head_request_ ? SIZE_MAX : kClientHighWater);
  if (progress.fell_behind) {
    // The answer is not stored and this reader is behind the fill's window
    // (Fill::keepWindow): it cannot be served from it.
    stopWaiting();
    if (!fill_head_sent_) {
      proceedUpstream();  // nothing sent yet: fetch for itself
      return;
    }
    LOG_INFO("cutting {} {} for {}: fell behind the shared answer's window at byte {}", request_.method,
             request_.target, client_.peerIp(), fill_offset_);
    client_.abort(CloseReason::kFellBehind);
    return;
  }
  if (progress.state == cache::Fill::State::kAbandoned) {
    stopWaiting();
    if (fill_head_sent_) {
      // Part of the answer is out already: only a cut connection can tell.
      client_.abort(CloseReason::kUpstreamFailed);
      return;
    }
    if (progress.leader_gone) {
      // The leader left before fetching anything: coalesce afresh (one of
      // the waiters leads) rather than each fetch (DESIGN invariant 9).
      lookUp();
      return;
    }
    if (context_.vary_memo.find(primary_key_) != vary_names_) {
      // The answer turned out to vary: look up (and coalesce on) this
      // request's own variant instead.
      lookUp();
      return;
    }
    proceedUpstream();  // as nginx's proxy_cache_lock: each waiter fetches
    return;
  }
  if (progress.state == cache::Fill::State::kFetching) {
    if (progress.restarts != fill_restarts_seen_) {
      fill_restarts_seen_ = progress.restarts;
      startLockTimer();
    }
    return;
  }
  if (!fill_head_sent_ && !cache::fillServesLookup(progress.head->surrogate_keys, progress.head->lookup_epoch,
                                                   version_keys_, lookup_epoch_)) {
    // The answer names namespaces this lookup did not read, and something
    // was invalidated since the leader's lookup: perhaps one of them
    // (DESIGN invariant 3). Fetch for ourselves, without storing.
    stopWaiting();
    proceedUpstream();
    return;
  }
  if (!fill_head_sent_) {
    fill_head_sent_ = true;
    if (lock_timer_) lock_timer_->stop();
    http::ResponseHead head;
    head.status = progress.head->status;
    head.reason = progress.head->reason;
    head.headers = progress.head->headers;
    head.framing = progress.head->content_length ? http::BodyFraming::kContentLength
                                                 : http::BodyFraming::kChunked;
    head.content_length = progress.head->content_length.value_or(0);
    status_ = head.status;
    sendResponseHead(head);
  }
  // Piece by piece, until this client's queue is full (onClientDrained
  // reads on: a write that leaves at once calls nothing back, hence the
  // loop) or everything published is out.
  for (;;) {
    fill_offset_ += progress.body.size();
    writeBody(std::move(progress.body));
    if (progress.state == cache::Fill::State::kComplete && fill_offset_ == progress.end) {
      stopWaiting();
      writeLastChunk();
      finish();
      return;
    }
    if (fill_offset_ >= progress.end || client_.writeQueueBytes() > kClientHighWater) break;
    progress = fill_->read(fill_offset_, kClientHighWater);
    if (progress.fell_behind || progress.state == cache::Fill::State::kAbandoned) {
      onFillProgress();  // handled above
      return;
    }
  }
  flushHead();  // the leader has published no more yet
}

}  // namespace larder::proxy
