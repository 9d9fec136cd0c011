// The cache's part of an Exchange: route matching, acting on the lookup
// session's outcome (cache/lookup_session.h: the protocol is the cache's),
// serving entries (fresh, stale, revalidated, or a 304 to a conditional
// client), and reading a fill as one of its readers. Coalescing: the first
// miss on a key fetches (proxy/fill_fetch.h), later ones stream its answer
// (DESIGN invariant 9; see cache/coalescer.h for the model). Writes: the
// part of exchange.cc that uses proxy/write_invalidation.h.
#include <fmt/format.h>

#include <algorithm>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/key.h"
#include "cache/lookup_session.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/stored_coding.h"
#include "cache/surrogate_keys.h"
#include "http/cache_control.h"
#include "http/range.h"
#include "http/serializer.h"
#include "proxy/fill_fetch.h"
#include "proxy/client_connection.h"
#include "proxy/exchange.h"
#include "proxy/forwarding.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {
// One derivation (proxy/forwarding.h) gives both what is forwarded and what
// is keyed (DESIGN invariant 11): from here on request_ holds the fields as
// forwarded, dest_.target the target as forwarded, and the keyed host, path
// and route parameters are the session's (a lookup) or dest_'s (otherwise).
void Exchange::route() {
  auto target = http::parseTarget(request_.target);
  if (!target) {
    keep_alive_ = false;
    replyLocally(400, "bad request target");
    return;
  }
  dest_.route = config_->matchRoute(request_.method, target->path, dest_.params);
  auto forwarded = deriveForwardedRequest(request_.method, *target, std::move(request_.headers),
                                          request_.version_minor, client_.peerIp(), *config_, dest_.route);
  if (!forwarded) {
    keep_alive_ = false;
    replyLocally(400, toString(forwarded.error()));
    return;
  }
  dest_.target = std::move(forwarded->target);
  request_.headers = std::move(forwarded->headers);
  // GET and HEAD are safe: a read route's requests are looked up, every
  // other request goes upstream (RFC 9111 §4.4: a non-error answer to an
  // unsafe method invalidates).
  const bool look_up = dest_.route != nullptr && dest_.route->isRead() &&
                       (request_.method == "GET" || request_.method == "HEAD");
  if (!look_up) {
    dest_.host = std::move(forwarded->host);
    dest_.path = std::move(forwarded->parsed.path);
    proceedUpstream();
    return;
  }
  // The keyed host, path and route parameters move into the session
  // (session_->request()): only a write's invalidation reads them from
  // dest_, and a looked-up request is never a write. Copied before, up to
  // three allocations per hit (issue 13).
  cache::LookupRequest lookup;
  lookup.config = config_;
  lookup.route = dest_.route;
  lookup.method = request_.method;
  lookup.host = std::move(forwarded->host);
  lookup.target = std::move(forwarded->parsed);
  lookup.params = std::move(dest_.params);
  lookup.headers = &request_.headers;
  lookup.has_body = request_.framing == http::BodyFraming::kChunked ||
                    (request_.framing == http::BodyFraming::kContentLength && request_.content_length > 0);
  cache::LookupServices services{context_.store, context_.coalescer, context_.vary_memo,
                                 context_.surrogate_memo, context_.tier, context_.backlog};
  session_ = std::make_unique<cache::LookupSession>(
      services, std::move(lookup),
      [this](std::shared_ptr<cache::Fill> fill, const cache::Entry& stale) {
        refreshInBackground(std::move(fill), stale);
      });
  lookUp();
}

// The cache's answer for this read (cache/lookup_session.h): the session
// runs the lookup protocol; this exchange acts on its typed outcome.
void Exchange::lookUp() {
  setState(ExchangeState::kLookingUp);
  session_->lookUp([this](cache::LookupOutcome&& outcome) { onLookedUp(std::move(outcome)); });
}

void Exchange::onLookedUp(cache::LookupOutcome&& outcome) {
  using Kind = cache::LookupOutcome::Kind;
  if (outcome.forward != cache::CacheStatus::Forward::kNone) report_.cache_status.fwd = outcome.forward;
  switch (outcome.kind) {
    case Kind::kBypass:
      if (outcome.reason == cache::BypassReason::kStoreUnavailable) {
        report_.verdict = CacheVerdict::kBypass;  // store.on_failure: reject
        replyLocally(503, "cache unavailable", "Retry-After: 1\r\n");
        return;
      }
      bypass(outcome.detail);
      return;
    case Kind::kHit:
      if (outcome.from_tier) recordTierHit();
      serveEntry(std::move(*outcome.entry), outcome.stale ? CacheVerdict::kStale : CacheVerdict::kHit);
      return;
    case Kind::kFound:
      decideShadow(std::move(outcome.entry));  // forwarded whatever it finds
      return;
    case Kind::kJoin:
    case Kind::kFetch:
      if (outcome.store_unavailable) report_.cache_status.detail = outcome.detail;
      if (outcome.stale_entry) {
        // Kept for the fill's revalidation and for stale-if-error.
        stale_ = std::make_unique<StaleFallback>(StaleFallback{std::move(*outcome.stale_entry), outcome.stale_if_error});
      }
      missed(outcome.kind == Kind::kFetch, std::move(outcome.fill),
             outcome.store_unavailable ? CacheVerdict::kBypass : CacheVerdict::kMiss);
      return;
  }
}

// The answer varies on other fields than the key had (RFC 9111 §4.1): a
// shadow leader's capture moves to this request's variant.
void Exchange::rekeyForVary(const http::ResponseHead& head) {
  std::optional<Capture::PreviousFill> previous;
  const bool moved = session_->rekeyForVary(head.headers, [&] {
    previous = shadow_.capture->rekey(session_->entryKey(), session_->identity(), session_->fillKey(),
                               session_->varyNames());
  });
  if (moved) shadow_.capture->releaseFill(std::move(*previous));
}

// RFC 5861: the stale entry is served now; a fill with no reader refreshes
// it behind (proxy/fill_fetch.h). The session leads `fill` for it.
void Exchange::refreshInBackground(std::shared_ptr<cache::Fill> fill, const cache::Entry& stale) {
  FillRequest fetch = fillRequestFor(*session_, context_.backlog, dest_.target, request_.headers);
  fetch.slot.fill = std::move(fill);
  fetch.stale = stale;
  context_.fetches.start(std::move(fetch));
}

bool Exchange::serveStaleOnError() {
  if (!stale_ || stale_->if_error.count() == 0 ||
      cache::staleness(stale_->entry, base::WallClock::now()) > stale_->if_error)
    return false;
  LOG_INFO("serving stale {} {}: upstream failed", request_.method, request_.target);
  shadow_.capture.reset();
  cache::Entry stale = std::move(stale_->entry);
  stale_.reset();
  serveEntry(std::move(stale), CacheVerdict::kStale);
  return true;
}

void Exchange::serveEntry(cache::Entry&& entry, CacheVerdict verdict) {
  // The form this client gets (cache/stored_coding.h), decided once.
  const std::optional<cache::ServedForm> form =
      cache::readyForClient(entry, request_.headers, config_->cache.max_object_size);
  if (!form) {
    // Only reached past a store that checked the entry (a revalidation, a
    // lock wait, stale-if-error): nothing else to answer with.
    replyLocally(502, "stored entry does not decode");
    return;
  }
  report_.verdict = verdict;
  base::WallTime now = base::WallClock::now();
  bool not_modified = cache::clientHasCurrent(request_.headers, entry.headers);
  const cache::Coding coding = cache::storedCoding(entry);
  const bool decode_while_sending = !not_modified && *form == cache::ServedForm::kDecodeWhileSending;
  const uint64_t decoded_length = entry.decoded_length.value_or(0);
  if (decode_while_sending) cache::toIdentityFields(entry);
  http::HeaderMap headers = not_modified ? cache::notModifiedHeaders(entry.headers)
                                         : std::move(entry.headers);
  // Stored with the field by an instance configured to keep it.
  cache::stripSurrogateKeys(headers, config_->cache.surrogate_keys);
  cache::stripOwnTargetedFields(headers, config_->cache);
  const auto remaining = entry.ttl - std::chrono::duration_cast<std::chrono::milliseconds>(
                                         std::max(now - entry.stored_at, base::WallTime::duration::zero()));
  report_.cache_status.ttl = std::chrono::floor<std::chrono::seconds>(remaining).count();
  if (verdict == CacheVerdict::kRevalidated) {
    report_.cache_status.fwd = cache::CacheStatus::Forward::kStale;
    report_.cache_status.fwd_status = 304;
    report_.cache_status.stored = true;
  } else {
    report_.cache_status.hit = true;
    report_.cache_status.fwd = cache::CacheStatus::Forward::kNone;
  }
  report_.status = not_modified ? 304 : entry.status;
  headers.set("Age", std::to_string(cache::currentAge(entry.stored_at, entry.initial_age_seconds, now)));
  // Shared with the store's kept copy, it is sent from there (EntryBody).
  cache::EntryBody body = std::move(entry.body);
  // RFC 9110 §14: the parts of the complete stored answer that are asked for.
  if (!not_modified && request_.headers.has("Range"))
    report_.status =
        http::applyRange(request_.headers, report_.status, headers, body.own(), cache::newVersionToken());
  if (report_.status == 204) {
    headers.remove("Content-Length");  // RFC 9110 §8.6, as in sendResponseHead
  } else if (!not_modified) {
    headers.set("Content-Length", std::to_string(decode_while_sending ? decoded_length : body.size()));
  }
  addCacheStatusFields(headers);
  keep_alive_ = keep_alive_ && !client_.isShuttingDown();
  if (!keep_alive_) {
    headers.set("Connection", "close");
  } else if (request_.version_minor == 0) {
    headers.set("Connection", "keep-alive");
  }
  std::string head;
  head.reserve(512);
  http::appendResponseHead(request_.version_minor, report_.status,
                           report_.status == entry.status ? std::string_view(entry.reason) : http::reasonPhrase(report_.status),
                           headers, head);
  if (isHead() || not_modified || body.empty()) {
    client_.write(std::move(head));
  } else if (decode_while_sending) {
    client_.write(std::move(head));
    decoding_ = std::make_unique<EntryDecoding>(coding, decoded_length, std::move(body));
    setState(ExchangeState::kStreamingResponse);
    sendDecoded();
    return;
  } else {
    report_.body_bytes = body.size();
    if (body.isShared()) {
      client_.write(std::move(head), body.owner(), body.view());
    } else {
      client_.write(std::move(head), std::move(body).take());
    }
  }
  finish();
}

Exchange::EntryDecoding::EntryDecoding(cache::Coding coding, uint64_t decoded_length, cache::EntryBody stored)
    : coded(std::move(stored)), stream(coding, decoded_length, 64 * 1024), length(decoded_length) {
  stream.feed(coded, /*last=*/true);
}

// The last decoded chunk is held back until the stream has ended whole:
// an entry that turns out corrupt at its end (gzip's CRC, a bomb past the
// recorded length) never reaches the client as a complete-looking answer.
void Exchange::sendDecoded() {
  namespace m = base::metrics;
  while (client_.writeQueueBytes() < kClientHighWater) {
    std::string chunk;
    const cache::DecodingStream::Status status = decoding_->stream.next(chunk);
    if (status == cache::DecodingStream::Status::kChunk) {
      if (!decoding_->held.empty()) {
        report_.body_bytes += decoding_->held.size();
        client_.write(std::move(decoding_->held));
      }
      decoding_->held = std::move(chunk);
      continue;
    }
    // Content-Length promised exactly `length` bytes: fewer is corrupt too.
    const bool whole = status == cache::DecodingStream::Status::kDone &&
                       decoding_->stream.total() == decoding_->length;
    m::cache_decodes.add(m::index(whole ? m::DecodeResult::kOk
                                  : status == cache::DecodingStream::Status::kTooBig ? m::DecodeResult::kTooBig
                                                                                     : m::DecodeResult::kCorrupt),
                         1);
    std::string last = std::move(decoding_->held);
    decoding_.reset();
    if (whole) {
      report_.body_bytes += last.size();
      if (!last.empty()) client_.write(std::move(last));
      finish();
      return;
    }
    // The head is out: the only honest end is a cut (the client sees a
    // short body, never a wrong one). The entry's TTL or a write ends it.
    LOG_WARN("stored entry for {} {} stopped decoding ({}) after {} bytes: connection cut", request_.method,
             request_.target, cache::toString(status), report_.body_bytes);
    keep_alive_ = false;
    client_.abort(CloseReason::kStoredCorrupt);
    return;
  }
}

void Exchange::decideShadow(std::optional<cache::Entry> entry) {
  stale_.reset();  // never revalidated nor served stale: the answer is fresh
  const bool comparable = !isHead() && !request_.headers.has("Range");
  if (!shadow_.decide(entry, session_->clientWantsFresh(), *dest_.route, config_->cache, comparable)) {
    report_.verdict = CacheVerdict::kMiss;
    proceedUpstream();  // a would-be hit fetches nothing, so nothing is stored
    return;
  }
  session_->miss([this](cache::LookupOutcome&& outcome) { onLookedUp(std::move(outcome)); });
}

void Exchange::bypass(std::string_view reason) {
  LOG_DEBUG("cache bypass for {} {}: {}", request_.method, request_.target, reason);
  report_.verdict = CacheVerdict::kBypass;
  report_.cache_status.fwd = cache::CacheStatus::Forward::kBypass;
  report_.cache_status.detail = reason;
  proceedUpstream();
}

// Reading a fill (DESIGN invariant 9).

// The session joined (`lead` false) or leads `fill`. `verdict` is kBypass
// when the store could not be asked: the versions are unknown then, so such
// requests share fills only among themselves.
void Exchange::missed(bool lead, std::shared_ptr<cache::Fill> fill, CacheVerdict verdict) {
  report_.verdict = verdict;
  // A HEAD miss is fetched as GET so the answer can fill the cache.
  if (isHead()) dest_.method = "GET";
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
  if (stale_) fetch.stale = stale_->entry;
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
  const size_t limit = isHead() ? SIZE_MAX : kClientHighWater;
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
    if (published.status >= 500 && stale_ && stale_->if_error.count() > 0 &&
        cache::staleness(stale_->entry, base::WallClock::now()) <= stale_->if_error) {
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
