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
  report_.verdict = verdict;
  // A HEAD miss is fetched as GET so the answer can fill the cache.
  if (head_request_) dest_.method = "GET";
  if (!lead && dest_.route->shadow) {
    proceedUpstream();  // shadow: every request reaches the upstream; the leader stores
    return;
  }
  if (!lead) {
    reading_.fill = std::move(fill);
    waitForFill();
    return;
  }
  if (dest_.route->shadow) {
    // A shadow route forwards every request itself (proxy/shadow_route.h);
    // the leading one also captures the answer for the store.
    shadow_.capture = std::make_unique<Capture>(context_.store, context_.coalescer);
    CacheSlot slot = slotFor(*session_, context_.backlog);
    slot.fill = std::move(fill);
    shadow_.capture->setSlot(std::move(slot));
    proceedUpstream();
    return;
  }
  startFill(std::move(fill));
}

// This request's miss leads `fill`: the worker fetches it (FillFetch), and
// this request reads it like every other reader (STYLE §2).
void Exchange::startFill(std::shared_ptr<cache::Fill> fill) {
  reading_.fill = std::move(fill);
  reading_.started = true;
  waitForFill();
  FillRequest fetch = fillRequestFor(*session_, context_.backlog, dest_.target, request_.headers);
  fetch.slot.fill = reading_.fill;
  fetch.stale = stale_.entry;
  fetch.use_lock = useFillLock();
  fetch.first_reader = reading_.waiter.id();
  context_.fetches.start(std::move(fetch));
}

bool Exchange::useFillLock() const {
  // BYPASS: the store did not answer this request's lookup; the lock lives
  // there too. Such fills coalesce in this process only (invariant 5).
  return context_.fill_lock != nullptr && config_->cache.distributed_lock.enabled &&
         report_.verdict != CacheVerdict::kBypass;
}

void Exchange::waitForFill() {
  setState(ExchangeState::kWaitingForFill);
  // Called from whichever worker publishes; wakes us on our own loop.
  // A Sender, not the queue: our worker may stop, and its queue go, while
  // another worker is still publishing (net/loop.h).
  auto notify = [queue = context_.queue.sender(), owner = liveness_.ref(), this] {
    queue.post(owner, [this] { onFillProgress(); });
  };
  reading_.waiter = cache::FillWaiter(reading_.fill, std::move(notify));
  reading_.offset = 0;
  reading_.interim_sent = 0;
  if (reading_.started) return;  // its fetch starts next (startFill)
  // Waiting behind another request's fetch: counted (the stampede tests'
  // barrier), and bounded by lock_timeout until the head arrives.
  report_.cache_status.collapsed = true;
  base::metrics::coalesced_requests.inc();
  base::metrics::coalesced_waiters.inc();
  reading_.restarts_seen = 0;
  reading_.lock_timer = std::make_unique<net::Timer>(context_.loop);
  startLockTimer();
  onFillProgress();  // it may be complete already
}

void Exchange::startLockTimer() {
  reading_.lock_timer->start(config_->cache.lock_timeout, [this] {
    if (reading_.head_sent) return;
    // The leader is still checking with other instances (bounded by its own
    // lock_timeout), or has just gone upstream and the news is on its way:
    // this wait starts over rather than sending everyone upstream at once.
    if (reading_.fill) {
      cache::Fill::WaitPhase phase = reading_.fill->waitPhase();
      if (phase.held || phase.restarts != reading_.restarts_seen) {
        reading_.restarts_seen = phase.restarts;
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
  if (reading_.waiter.fill() != nullptr && !reading_.started) base::metrics::coalesced_waiters.dec();
  reading_.waiter.reset();
  reading_.fill.reset();
  if (reading_.lock_timer) reading_.lock_timer->stop();
}

void Exchange::onFillProgress() {
  if (!reading_.fill) return;
  // Each reader reads at its own pace: nothing more is taken from the fill
  // while this client's queue is full (onClientDrained reads on).
  if (reading_.head_sent && client_.writeQueueBytes() > kClientHighWater) return;
  // A piece at a time: this client's queue holds at most about twice the
  // high-water mark of the fill's answer (a HEAD writes no body: all of it).
  const size_t limit = head_request_ ? SIZE_MAX : kClientHighWater;
  cache::Fill::Progress progress = reading_.fill->read(reading_.offset, limit, reading_.waiter.id());
  if (progress.successor) {
    // This request's fetch turned out to vary (FillFetch::rekeyForVary) and
    // goes on into its variant's fill; this registration moved there.
    reading_.fill = std::move(progress.successor);
    reading_.waiter.follow(reading_.fill);
    session_->followVary();
    onFillProgress();
    return;
  }
  if (progress.fell_behind || progress.state == cache::Fill::State::kAbandoned) {
    onFillEnded(progress);
    return;
  }
  // RFC 9110 §15.2: interim answers, in order, to HTTP/1.1 clients only.
  for (; reading_.interim_sent < progress.interim.size() && !reading_.head_sent; ++reading_.interim_sent) {
    const cache::Fill::Head& interim = *progress.interim[reading_.interim_sent];
    if (request_.version_minor < 1) continue;
    std::string out;
    http::appendResponseHead(1, interim.status, interim.reason, interim.headers, out);
    client_.write(std::move(out));
  }
  if (progress.state == cache::Fill::State::kFetching) {
    if (progress.restarts != reading_.restarts_seen && reading_.lock_timer) {
      reading_.restarts_seen = progress.restarts;
      startLockTimer();
    }
    return;
  }
  if (!reading_.head_sent && !onFillHead(progress)) return;
  // Piece by piece, until this client's queue is full (onClientDrained
  // reads on: a write that leaves at once calls nothing back, hence the
  // loop) or everything published is out.
  for (;;) {
    reading_.offset += progress.body.size();
    writeBody(std::move(progress.body));
    if (progress.state == cache::Fill::State::kComplete && reading_.offset == progress.end) {
      stopWaiting();
      writeLastChunk();
      finish();
      return;
    }
    if (reading_.offset >= progress.end || client_.writeQueueBytes() > kClientHighWater) break;
    progress = reading_.fill->read(reading_.offset, limit, reading_.waiter.id());
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
void Exchange::onFillEnded(const cache::Fill::Progress& progress) {
  stopWaiting();
  if (progress.fell_behind) {
    // The answer is not stored and this reader is behind the fill's window
    // (Fill::keepWindow): it cannot be served from it.
    if (!reading_.head_sent) {
      proceedUpstream();  // nothing sent yet: fetch for itself
      return;
    }
    LOG_INFO("cutting {} {} for {}: fell behind the shared answer's window at byte {}", request_.method,
             request_.target, client_.peerIp(), reading_.offset);
    client_.abort(CloseReason::kFellBehind);
    return;
  }
  if (reading_.head_sent) {
    // Part of the answer is out already: only a cut connection can tell.
    client_.abort(CloseReason::kUpstreamFailed);
    return;
  }
  if (session_->isVaryOutdated()) {
    // The answer turned out to vary: look up (and coalesce on) this
    // request's own variant instead.
    reading_.started = false;
    lookUp();
    return;
  }
  if (reading_.started && progress.failed_status != 0) {
    // This request's own fetch failed: answered as a pass-through would be.
    // If the answer had begun (its head published before this reader read
    // it), the connection closes after the 502 too, as a cut would have.
    if (serveStaleOnError()) return;
    if (progress.head) keep_alive_ = false;
    replyLocally(progress.failed_status, progress.failed_status == 504 ? "upstream timed out" : "bad gateway");
    return;
  }
  proceedUpstream();  // as nginx's proxy_cache_lock: each waiter fetches
}

// The fill's head: sends it, or answers otherwise; false when this request
// no longer reads the fill.
bool Exchange::onFillHead(const cache::Fill::Progress& progress) {
  const cache::Fill::Head& published = *progress.head;
  if (reading_.started) {
    if (published.upstream_latency.count() >= 0) report_.upstream_latency = published.upstream_latency;
    if (published.entry) {
      // Renewed by a 304, or stored by another instance meanwhile: served
      // as an entry (conditional requests, ranges, Age).
      cache::Entry entry = *published.entry;
      stopWaiting();
      serveEntry(std::move(entry), published.revalidated ? CacheVerdict::kRevalidated : CacheVerdict::kHit);
      return false;
    }
    if (published.status >= 500 && stale_.entry && stale_.if_error.count() > 0 &&
        cache::staleness(*stale_.entry, base::WallClock::now()) <= stale_.if_error) {
      stopWaiting();  // an unstored answer: its fetch ends with its last reader
      serveStaleOnError();
      return false;
    }
    report_.cache_status.stored = published.stored;
    if (!published.refusal.empty()) report_.cache_status.detail = published.refusal;
  } else if (!cache::fillServesLookup(published.surrogate_keys, published.lookup_epoch,
                                      session_->versionKeys(), session_->lookupEpoch())) {
    // The answer names namespaces this lookup did not read, and something
    // was invalidated since the leader's lookup: perhaps one of them
    // (DESIGN invariant 3). Fetch for ourselves, without storing.
    stopWaiting();
    proceedUpstream();
    return false;
  }
  reading_.head_sent = true;
  if (reading_.lock_timer) reading_.lock_timer->stop();
  http::ResponseHead head;
  head.status = published.status;
  head.reason = published.reason;
  head.headers = published.headers;
  head.framing = published.content_length ? http::BodyFraming::kContentLength : http::BodyFraming::kChunked;
  head.content_length = published.content_length.value_or(0);
  report_.status = head.status;
  sendResponseHead(head);
  return true;
}

}  // namespace larder::proxy
