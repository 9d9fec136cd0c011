// Coalescing: the first miss on a key fetches, later ones stream its answer
// (DESIGN invariant 9). See cache/coalescer.h for the model.
#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/surrogate_keys.h"
#include "http/serializer.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"
#include "proxy/fill_fetch.h"

namespace larder::proxy {

// The session joined (`lead` false) or leads `fill`. `verdict` is kBypass
// when the store could not be asked: the versions are unknown then, so such
// requests share fills only among themselves.
void Exchange::missed(bool lead, std::shared_ptr<cache::Fill> fill, CacheVerdict verdict) {
  cache_status_ = verdict;
  // A HEAD miss is fetched as GET so the answer can fill the cache.
  if (head_request_) upstream_method_ = "GET";
  if (!lead && route_->shadow) {
    proceedUpstream();  // shadow: every request reaches the upstream; the leader stores
    return;
  }
  if (!lead) {
    fill_ = std::move(fill);
    waitForFill();
    return;
  }
  if (route_->shadow) {
    // A shadow route forwards every request itself (exchange_shadow.cc);
    // the leading one also captures the answer for the store.
    capture_ = std::make_unique<Capture>(context_.store, context_.coalescer);
    CacheSlot slot = cacheSlot();
    slot.fill = std::move(fill);
    capture_->setSlot(std::move(slot));
    proceedUpstream();
    return;
  }
  startFill(std::move(fill));
}

// This request's miss leads `fill`: the worker fetches it (FillFetch), and
// this request reads it like every other reader (STYLE §2).
void Exchange::startFill(std::shared_ptr<cache::Fill> fill) {
  fill_ = std::move(fill);
  fill_started_ = true;
  waitForFill();
  FillRequest fetch = fillRequest();
  fetch.slot.fill = fill_;
  fetch.unavailable = cache_status_ == CacheVerdict::kBypass;
  fetch.use_lock = useFillLock();
  fetch.first_reader = fill_waiter_.id();
  context_.fetches.start(std::move(fetch));
}

// What a fetch for this request's key needs (proxy/fill_fetch.h): the
// request as forwarded (route()) and as keyed.
FillRequest Exchange::fillRequest() const {
  FillRequest fetch;
  fetch.slot = cacheSlot();
  fetch.request.method = "GET";
  fetch.request.target = upstream_target_;
  fetch.request.version_minor = 1;
  fetch.request.headers = request_.headers;
  fetch.stale = stale_entry_;
  fetch.primary_key = session_->primaryKey();
  fetch.keyed_method = request_.method;
  fetch.host = host_;
  fetch.target = session_->request().target;
  fetch.principal = session_->principal().value_or("");
  return fetch;
}

bool Exchange::useFillLock() const {
  // BYPASS: the store did not answer this request's lookup; the lock lives
  // there too. Such fills coalesce in this process only (invariant 5).
  return context_.fill_lock != nullptr && config_->cache.distributed_lock.enabled &&
         cache_status_ != CacheVerdict::kBypass;
}

void Exchange::waitForFill() {
  setState(ExchangeState::kWaitingForFill);
  // Called from whichever worker publishes; wakes us on our own loop.
  // A Sender, not the queue: our worker may stop, and its queue go, while
  // another worker is still publishing (net/loop.h).
  auto notify = [queue = context_.queue.sender(), owner = liveness_.ref(), this] {
    queue.post(owner, [this] { onFillProgress(); });
  };
  fill_waiter_ = cache::FillWaiter(fill_, std::move(notify));
  fill_offset_ = 0;
  fill_interim_sent_ = 0;
  if (fill_started_) return;  // its fetch starts next (startFill)
  // Waiting behind another request's fetch: counted (the stampede tests'
  // barrier), and bounded by lock_timeout until the head arrives.
  cache_report_.collapsed = true;
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
  if (fill_waiter_.fill() != nullptr && !fill_started_) base::metrics::coalesced_waiters.dec();
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
  const size_t limit = head_request_ ? SIZE_MAX : kClientHighWater;
  cache::Fill::Progress progress = fill_->read(fill_offset_, limit, fill_waiter_.id());
  if (progress.successor) {
    // This request's fetch turned out to vary (FillFetch::rekeyForVary) and
    // goes on into its variant's fill; this registration moved there.
    fill_ = std::move(progress.successor);
    fill_waiter_.follow(fill_);
    session_->followVary();
    onFillProgress();
    return;
  }
  if (progress.fell_behind || progress.state == cache::Fill::State::kAbandoned) {
    onFillEnded(progress);
    return;
  }
  // RFC 9110 §15.2: interim answers, in order, to HTTP/1.1 clients only.
  for (; fill_interim_sent_ < progress.interim.size() && !fill_head_sent_; ++fill_interim_sent_) {
    const cache::Fill::Head& interim = *progress.interim[fill_interim_sent_];
    if (request_.version_minor < 1) continue;
    std::string out;
    http::appendResponseHead(1, interim.status, interim.reason, interim.headers, out);
    client_.write(std::move(out));
  }
  if (progress.state == cache::Fill::State::kFetching) {
    if (progress.restarts != fill_restarts_seen_ && lock_timer_) {
      fill_restarts_seen_ = progress.restarts;
      startLockTimer();
    }
    return;
  }
  if (!fill_head_sent_ && !onFillHead(progress)) return;
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
    progress = fill_->read(fill_offset_, limit, fill_waiter_.id());
    if (progress.fell_behind || progress.state == cache::Fill::State::kAbandoned) {
      onFillEnded(progress);
      return;
    }
  }
  flushHead();  // the fetch has published no more yet
}

// The fill will give this reader nothing more: it was abandoned, or this
// reader fell behind an unstored answer's window. Every path ends the
// reading (and may end the exchange).
// reader fell behind an unstored answer's window. Returns nothing: every
// path ends the reading (and may end the exchange).
void Exchange::onFillEnded(const cache::Fill::Progress& progress) {
  stopWaiting();
  if (progress.fell_behind) {
    // The answer is not stored and this reader is behind the fill's window
    // (Fill::keepWindow): it cannot be served from it.
    if (!fill_head_sent_) {
      proceedUpstream();  // nothing sent yet: fetch for itself
      return;
    }
    LOG_INFO("cutting {} {} for {}: fell behind the shared answer's window at byte {}", request_.method,
             request_.target, client_.peerIp(), fill_offset_);
    client_.abort(CloseReason::kFellBehind);
    return;
  }
  if (fill_head_sent_) {
    // Part of the answer is out already: only a cut connection can tell.
    client_.abort(CloseReason::kUpstreamFailed);
    return;
  }
  if (session_->isVaryOutdated()) {
    // The answer turned out to vary: look up (and coalesce on) this
    // request's own variant instead.
    fill_started_ = false;
    lookUp();
    return;
  }
  if (fill_started_ && progress.failed_status != 0) {
    // This request's own fetch failed: answered as a pass-through would be.
    // If the answer had begun (its head published before this reader read
    // it), the connection closes after the 502 too, as a cut would have.
    if (serveStaleOnError()) return;
    if (progress.head) keep_alive_ = false;
    replyLocally(progress.failed_status, progress.failed_status == 504 ? "upstream timed out" : "bad gateway");
    return;
  }
  proceedUpstream();  // as nginx's proxy_cache_lock: each waiter fetches
  return;
}

// The fill's head: sends it, or answers otherwise; false when this request
// no longer reads the fill.
bool Exchange::onFillHead(const cache::Fill::Progress& progress) {
  const cache::Fill::Head& published = *progress.head;
  if (fill_started_) {
    if (published.upstream_latency.count() >= 0) upstream_latency_ = published.upstream_latency;
    if (published.entry) {
      // Renewed by a 304, or stored by another instance meanwhile: served
      // as an entry (conditional requests, ranges, Age).
      cache::Entry entry = *published.entry;
      stopWaiting();
      serveEntry(std::move(entry), published.revalidated ? CacheVerdict::kRevalidated : CacheVerdict::kHit);
      return false;
    }
    if (published.status >= 500 && stale_entry_ && stale_if_error_.count() > 0 &&
        cache::staleness(*stale_entry_, base::WallClock::now()) <= stale_if_error_) {
      stopWaiting();  // an unstored answer: its fetch ends with its last reader
      serveStaleOnError();
      return false;
    }
    cache_report_.stored = published.stored;
    if (!published.refusal.empty()) cache_report_.detail = published.refusal;
  } else if (!cache::fillServesLookup(published.surrogate_keys, published.lookup_epoch,
                                      session_->versionKeys(), session_->lookupEpoch())) {
    // The answer names namespaces this lookup did not read, and something
    // was invalidated since the leader's lookup: perhaps one of them
    // (DESIGN invariant 3). Fetch for ourselves, without storing.
    stopWaiting();
    proceedUpstream();
    return false;
  }
  fill_head_sent_ = true;
  if (lock_timer_) lock_timer_->stop();
  http::ResponseHead head;
  head.status = published.status;
  head.reason = published.reason;
  head.headers = published.headers;
  head.framing = published.content_length ? http::BodyFraming::kContentLength : http::BodyFraming::kChunked;
  head.content_length = published.content_length.value_or(0);
  status_ = head.status;
  sendResponseHead(head);
  return true;
}

}  // namespace larder::proxy
