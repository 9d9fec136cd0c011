#include "proxy/exchange.h"

#include <fmt/format.h>

#include "base/assert.h"
#include "base/log.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/stored_coding.h"
#include "cache/surrogate_keys.h"
#include "http/hop_by_hop.h"
#include "http/serializer.h"
#include "proxy/access_log.h"
#include "proxy/client_connection.h"
#include "proxy/local_reply.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {

// One per request (proxy/client_connection.h). glibc's malloc serves blocks
// of up to 1032 bytes from a per-thread cache; at 1336 bytes the exchange
// took malloc's slow path (_int_malloc, malloc_consolidate) on allocation
// and free: ~2.3k instructions per miss, ~0.6k per hit (callgrind via
// bench/hit-profile, issue 13). Rarely used parts go behind a unique_ptr.
static_assert(sizeof(Exchange) <= 1024, "keep Exchange in glibc's tcache size range");

std::string_view toString(ExchangeState state) {
  switch (state) {
    case ExchangeState::kReceived: return "received";
    case ExchangeState::kLookingUp: return "looking_up";
    case ExchangeState::kWaitingForFill: return "waiting_for_fill";
    case ExchangeState::kBufferingBody: return "buffering_body";
    case ExchangeState::kForwarding: return "forwarding";
    case ExchangeState::kInvalidating: return "invalidating";
    case ExchangeState::kStreamingResponse: return "streaming_response";
    case ExchangeState::kComplete: return "complete";
  }
  return "?";
}

std::string_view toString(CacheVerdict verdict) {
  switch (verdict) {
    case CacheVerdict::kNone: return "-";
    case CacheVerdict::kHit: return "HIT";
    case CacheVerdict::kStale: return "STALE";
    case CacheVerdict::kRevalidated: return "REVALIDATED";
    case CacheVerdict::kMiss: return "MISS";
    case CacheVerdict::kBypass: return "BYPASS";
  }
  return "?";
}

Exchange::Exchange(ClientConnection& client, ProxyContext& context, http::RequestHead&& head)
    : client_(client),
      context_(context),
      config_(context.config),
      request_(std::move(head)) {
  report_.started_at = base::MonoClock::now();
  keep_alive_ = request_.keep_alive;
}

Exchange::~Exchange() {
  stopWaiting();
  // DESIGN invariant 13: the client left (a reset, a timeout, a malformed
  // pipelined request) while its write was upstream, before any answer
  // head: the write may have been applied, and no answer will say it was
  // not. Destroying upstream_ below cancels the request, so the write is
  // invalidated now, as if unanswered, by a hand-off that outlives us.
  if (state_ == ExchangeState::kForwarding && isWrite() && upstream_ != nullptr &&
      upstream_->mayHaveReachedServer())
    WriteInvalidation::abandon(context_, *config_, {dest_.route, &dest_.params, dest_.host, dest_.path});
  // An exchange torn down early (client gone) still gets its log line.
  if (!report_.logged) {
    if (report_.status == 0) report_.status = 499;  // nginx's "client closed request"
    logAccess();
  }
}

void Exchange::setState(ExchangeState state) {
  if ((kAllowedNext[static_cast<size_t>(state_)] & stateBit(state)) == 0)
    LARDER_BUG("exchange {} {}: no transition {} -> {}", request_.method, request_.target, toString(state_),
               toString(state));
  LOG_DEBUG("exchange {} {}: {} -> {}", request_.method, request_.target, toString(state_),
            toString(state));
  state_ = state;
}

void Exchange::start() {
  dest_.sent_at = base::WallClock::now();
  dest_.method = request_.method;
  if (request_.framing == http::BodyFraming::kNone) body_.complete = true;
  route();
}

// Small bodies are read whole first; the upstream sees nothing until then.
void Exchange::proceedUpstream() {
  if (body_.complete || body_.buffered.size() >= kBodyBufferSize) {
    forward();
  } else {
    setState(ExchangeState::kBufferingBody);
  }
}

void Exchange::onRequestBody(std::string_view data) {
  if (state_ == ExchangeState::kBufferingBody || state_ == ExchangeState::kReceived ||
      state_ == ExchangeState::kLookingUp ||
      state_ == ExchangeState::kWaitingForFill) {
    body_.buffered.append(data);
    if (state_ == ExchangeState::kBufferingBody && body_.buffered.size() >= kBodyBufferSize)
      forward();
    return;
  }
  if (upstream_ != nullptr) upstream_->sendBody(data);
}

void Exchange::onRequestComplete() {
  body_.complete = true;
  if (state_ == ExchangeState::kBufferingBody) {
    forward();
    return;
  }
  if (upstream_ != nullptr) upstream_->finishBody();
}

size_t Exchange::queuedRequestBodyBytes() const {
  return body_.buffered.size() + (upstream_ != nullptr ? upstream_->queuedBodyBytes() : 0);
}

void Exchange::forward() {
  setState(ExchangeState::kForwarding);
  upstream_ = context_.pool.start(buildUpstreamRequest(), *this);
  if (!body_.buffered.empty()) {
    std::string body = std::move(body_.buffered);
    body_.buffered.clear();
    upstream_->sendBody(body);
  }
  if (body_.complete) upstream_->finishBody();
}

upstream::OutgoingRequest Exchange::buildUpstreamRequest() {
  // request_.headers and dest_.target are already the forwarded request
  // (route(), proxy/forwarding.h); only framing and validators are added.
  http::HeaderMap& headers = request_.headers;
  if (shadow_.capture) {
    // A shadow route's leader fetches the whole answer: it is stored
    // (http/range.h).
    headers.remove("Range");
    headers.remove("If-Range");
  }

  upstream::OutgoingRequest out;
  out.body_framing = request_.framing;
  if (request_.framing == http::BodyFraming::kContentLength) {
    headers.set("Content-Length", std::to_string(request_.content_length));
  } else if (request_.framing == http::BodyFraming::kChunked) {
    if (body_.complete) {
      // The whole body is in hand: send it with a length, as most origins prefer.
      out.body_framing = http::BodyFraming::kContentLength;
      headers.set("Content-Length", std::to_string(body_.buffered.size()));
    } else {
      headers.set("Transfer-Encoding", "chunked");
    }
  }
  out.method = dest_.method;
  // A body read whole before forwarding can be resent (OutgoingRequest::retryable).
  out.retryable = body_.complete && http::isIdempotentMethod(request_.method);
  out.head.reserve(512);
  http::appendRequestHead(dest_.method, dest_.target, headers, out.head);
  return out;
}

// RFC 9110 §15.2: 1xx answers are relayed, in order and before the final
// one, to HTTP/1.1 clients (an HTTP/1.0 client must never get one). 100 is
// not: larder answered the client's Expect itself and forwards none.
void Exchange::onUpstreamInterim(const http::ResponseHead& head) {
  if (request_.version_minor < 1 || head.status == 100 || hasResponseStarted()) return;
  http::HeaderMap headers = head.headers;
  http::removeHopByHop(headers);
  std::string out;
  http::appendResponseHead(1, head.status, head.reason, headers, out);
  client_.write(std::move(out));
}

void Exchange::onUpstreamHead(http::ResponseHead& head) {
  if (state_ == ExchangeState::kComplete) return;
  report_.upstream_latency = upstream_->headLatency();
  report_.status = head.status;
  http::removeHopByHop(head.headers);
  takeAnswerKeys(head.headers);
  if (head.status >= 500 && serveStaleOnError()) return;
  if (shadow_.capture) rekeyForVary(head);
  if (shadow_.capture) {
    std::vector<std::string> keys = answer_keys_.value_or(std::vector<std::string>{});
    if (shadow_.capture->begin(dest_.method, request_.headers, head, dest_.sent_at, keys)) {
      report_.cache_status.stored = true;
      // The next lookup of this entry reads them at once (one round trip).
      context_.surrogate_memo.remember(session_->entryKey(), std::move(keys));
    } else {
      report_.cache_status.detail = shadow_.capture->refusal();
      shadow_.capture.reset();
    }
  }
  if (isWrite() && head.status < 400) {
    invalidate(std::move(head), std::nullopt);
    return;
  }
  sendResponseHead(head);
}

// The namespaces the upstream names in its answer (cache/surrogate_keys.h),
// and the field removed if configured: before the answer is stored or sent.
void Exchange::takeAnswerKeys(http::HeaderMap& headers) {
  const config::CacheConfig& cache = config_->cache;
  auto keys = cache::takeSurrogateKeys(headers, cache.key_prefix, cache.surrogate_keys);
  if (!keys) {
    answer_keys_.reset();
    return;
  }
  if (keys->ignored > 0) {
    LOG_DEBUG("{} {}: ignored {} invalid or surplus name(s) in {} (at most {} of at most {} bytes)",
              request_.method, request_.target, keys->ignored, cache.surrogate_keys.header,
              cache::kMaxSurrogateKeys, cache::kMaxSurrogateKeyLength);
  }
  answer_keys_ = std::move(keys->version_keys);
}

void Exchange::sendResponseHead(http::ResponseHead& head) {
  http::HeaderMap& headers = head.headers;
  // After the capture read them: the entry keeps them, the client does not.
  cache::stripOwnTargetedFields(headers, config_->cache);
  keep_alive_ = keep_alive_ && !client_.isShuttingDown();
  bool bodyless = isHead() || head.status == 204 || head.status == 304;
  if (!bodyless) {
    if (head.framing == http::BodyFraming::kContentLength) {
      headers.set("Content-Length", std::to_string(head.content_length));
    } else if (head.framing == http::BodyFraming::kNone) {
      headers.set("Content-Length", "0");
    } else if (request_.version_minor >= 1) {
      headers.set("Transfer-Encoding", "chunked");
      framing_.chunked = true;
    } else {
      keep_alive_ = false;  // an HTTP/1.0 client reads to the close
    }
  } else if (head.status == 204) {
    // RFC 9110 §8.6: never a Content-Length on a 204, whatever the upstream
    // sent (Transfer-Encoding, hop-by-hop, is gone already; RFC 9112 §6.1).
    headers.remove("Content-Length");
  } else if (isHead() && dest_.method != request_.method &&
             head.framing == http::BodyFraming::kContentLength) {
    // A HEAD sent upstream as GET (to fill the cache) still reports the length.
    headers.set("Content-Length", std::to_string(head.content_length));
  }
  // Otherwise a bodyless answer keeps the upstream's Content-Length: for
  // HEAD and for a 304 it states the length of the representation a GET
  // would have carried, which RFC 9110 §8.6 allows and only the origin
  // knows; RFC 9112 §6.3 ends such answers at their head whatever it says.
  if (!report_.cache_status.hit) {
    report_.cache_status.fwd_status = head.status;
    if (report_.cache_status.fwd == cache::CacheStatus::Forward::kNone)
      report_.cache_status.fwd = cache::CacheStatus::Forward::kMiss;
  }
  addCacheStatusFields(headers);
  if (!keep_alive_) {
    headers.set("Connection", "close");
  } else if (request_.version_minor == 0) {
    headers.set("Connection", "keep-alive");
  }
  std::string out;
  out.reserve(512);
  http::appendResponseHead(request_.version_minor, head.status, head.reason, headers, out);
  setState(ExchangeState::kStreamingResponse);
  framing_.unsent_head = std::move(out);
}

// X-Cache and Cache-Status (RFC 9211), on the answers of cacheable routes.
void Exchange::addCacheStatusFields(http::HeaderMap& headers) {
  if (report_.verdict == CacheVerdict::kNone) return;
  const config::CacheConfig& cache = config_->cache;
  // Shadow routes: X-Cache says MISS (the upstream answered); Cache-Status
  // says what the cache would have done (proxy/shadow_route.h).
  if (shadow_.isShadow()) report_.cache_status.detail = shadow_.cacheStatusDetail();
  if (!cache.status_header.empty()) headers.set(cache.status_header, std::string(toString(report_.verdict)));
  if (!cache.cache_status.empty())
    cache::appendCacheStatus(headers, cache::formatCacheStatus(cache.cache_status, report_.cache_status));
}

void Exchange::flushHead() {
  if (!framing_.unsent_head.empty()) client_.write(std::move(framing_.unsent_head));
  framing_.unsent_head.clear();
}

void Exchange::onUpstreamBody(std::string_view data) {
  if (data.empty() || state_ == ExchangeState::kComplete) return;
  shadow_.keep(data, config_->cache.max_object_size);
  // Past max_object_size, a shadow leader's capture gives up (no reader
  // shares a shadow fill).
  if (shadow_.capture && !shadow_.capture->append(data) && !shadow_.capture->isSharing()) shadow_.capture.reset();
  if (state_ == ExchangeState::kInvalidating) {
    write_->holdBody(data);
    return;
  }
  writeBody(std::string(data));
  // While a shadow leader's answer is captured (at most max_object_size),
  // reading never waits on this client: the store would wait with it.
  // Otherwise a pass-through answer is paced by its one client.
  bool capturing = shadow_.capture && shadow_.capture->isActive();
  if (!upstream_paused_ && !capturing && client_.writeQueueBytes() > kClientHighWater) {
    upstream_paused_ = true;
    upstream_->pauseReading();
  }
}

void Exchange::writeBody(std::string body) {
  if (isHead() || body.empty()) return;
  report_.body_bytes += body.size();
  std::vector<std::string> pieces;
  pieces.reserve(4);
  if (!framing_.unsent_head.empty()) pieces.push_back(std::move(framing_.unsent_head));
  framing_.unsent_head.clear();
  if (framing_.chunked) {
    std::string chunk_header;
    http::appendChunkHeader(body.size(), chunk_header);
    pieces.push_back(std::move(chunk_header));
    pieces.push_back(std::move(body));
    pieces.emplace_back(http::kChunkEnd);
  } else {
    pieces.push_back(std::move(body));
  }
  client_.write(std::move(pieces));
}

void Exchange::writeLastChunk() {
  flushHead();
  if (framing_.chunked) client_.write(std::string(http::kLastChunk));
}

void Exchange::onClientDrained() {
  if (decoding_) {
    sendDecoded();  // a large coded entry, decoded at the client's pace
    return;
  }
  if (reading_.head_sent && reading_.fill) {
    onFillProgress();  // a reader of a fill reads at its own pace
    return;
  }
  if (upstream_paused_ && upstream_ != nullptr && client_.writeQueueBytes() < kClientLowWater) {
    upstream_paused_ = false;
    upstream_->resumeReading();
  }
}

void Exchange::onUpstreamBodyDrained() { client_.resumeRequestBody(); }

void Exchange::onUpstreamComplete() {
  if (state_ == ExchangeState::kComplete) return;
  if (shadow_.capture) shadow_.capture->commit();
  if (shadow_.compare(report_.status))
    LOG_DEBUG("shadow {} {}: the stored answer differs from the fresh one", request_.method, request_.target);
  if (state_ == ExchangeState::kInvalidating) {
    write_->holdComplete();
    return;
  }
  writeLastChunk();
  finish();
}

void Exchange::onUpstreamError(upstream::UpstreamError error) {
  if (state_ == ExchangeState::kComplete) return;
  LOG_WARN("upstream {} for {} {}", upstream::toString(error), request_.method, request_.target);
  shadow_.capture.reset();  // never stored; its fill's waiters fetch for themselves
  if (state_ == ExchangeState::kInvalidating) {
    // The write was applied (its head said so) and its invalidation is in
    // flight; the broken answer is still held whole: a 502 once it lands.
    write_->holdError(error);
    return;
  }
  if (hasResponseStarted() && framing_.unsent_head.empty()) {
    // Too late for an error status: a cut connection tells the client.
    report_.status = statusFor(error);
    logAccess();
    client_.abort(CloseReason::kUpstreamFailed);
    return;
  }
  if (hasResponseStarted()) {
    // The head is still held for the first body bytes (flushHead): nothing
    // has left, so the client can still get a clean 502 instead of a cut.
    framing_.unsent_head.clear();
    framing_.chunked = false;
  }
  if (serveStaleOnError()) return;
  // DESIGN invariant 13: a write that reached the upstream and got no
  // answer may have been applied.
  if (isWrite() && report_.status == 0 && invalidateUnanswered(error)) return;
  replyUpstreamFailed(error);
}

// A write's answer waits, whole, until its invalidation lands (RFC 9111
// §4.4, DESIGN invariants 3 and 13: proxy/write_invalidation.h).
void Exchange::invalidate(std::optional<http::ResponseHead> head, std::optional<upstream::UpstreamError> error) {
  setState(ExchangeState::kInvalidating);
  // What arrives meanwhile is held: at most the rest of the read that
  // carried the head (DESIGN invariant 12).
  if (upstream_ != nullptr) upstream_->pauseReading();
  // Made here, on a write's answer only: the exchange stays small (see
  // exchange.h's static_assert).
  if (write_ == nullptr)
    write_ = std::make_unique<WriteInvalidation>(
        context_, *config_, [this](WriteInvalidation::Answer&& answer) { onInvalidated(std::move(answer)); });
  write_->start({dest_.route, &dest_.params, dest_.host, dest_.path}, std::move(head),
               answer_keys_ ? &*answer_keys_ : nullptr, error);
}

// False when nothing can have reached the upstream: no attempt connected.
// An upstream down is then no reason to drop entries that stale_if_error
// could still serve. A write resent after its first attempt went out and
// whose resend could not connect still counts as sent (DESIGN invariant 13).
bool Exchange::invalidateUnanswered(upstream::UpstreamError error) {
  if (upstream_ == nullptr || !upstream_->mayHaveReachedServer()) return false;
  LOG_INFO("{} {}: no answer from the upstream ({}); invalidating as if applied", request_.method,
           request_.target, upstream::toString(error));
  invalidate(std::nullopt, error);
  return true;
}

void Exchange::onInvalidated(WriteInvalidation::Answer&& answer) {
  if (answer.error) {
    // No answer, or one that broke before any of it left: held back whole.
    replyUpstreamFailed(*answer.error);
    return;
  }
  http::ResponseHead& head = *answer.head;
  // Other instances may serve pre-write entries until it lands: the client
  // is told (README "What a write guarantees").
  if (answer.pending) head.headers.set("Larder-Invalidation", "pending");
  sendResponseHead(head);
  if (!answer.body.empty()) writeBody(std::move(answer.body));
  if (answer.complete) {
    writeLastChunk();
    finish();
    return;
  }
  flushHead();
  if (upstream_ != nullptr) upstream_->resumeReading();
}

void Exchange::replyUpstreamFailed(upstream::UpstreamError error) {
  replyLocally(statusFor(error), statusFor(error) == 504 ? "upstream timed out" : "bad gateway");
}

void Exchange::replyLocally(int status, std::string_view message, std::string_view extra_headers) {
  report_.status = status;
  keep_alive_ = keep_alive_ && body_.complete && !client_.isShuttingDown();
  client_.write(buildLocalReply(status, message, !keep_alive_, request_.version_minor, isHead(),
                                extra_headers));
  finish();
}

void Exchange::finish() {
  flushHead();
  setState(ExchangeState::kComplete);
  logAccess();
  stop();
  client_.onExchangeComplete(keep_alive_);  // destroys this exchange on a later turn
}

// The connection destroys a finished exchange on a later turn: until then
// nothing may reach it. finish() may run inside a callback of what is
// stopped here (the upstream request allows being destroyed from inside its
// callbacks; a Timer is stopped, never destroyed, inside its own).
void Exchange::stop() {
  stopWaiting();  // a fill's reader: unregistered, its lock timer stopped
  upstream_.reset();
  // Stopped, not destroyed: stop() may run inside its `landed` callback.
  if (write_ != nullptr) write_->stop();
  decoding_.reset();
  liveness_.revoke();  // fill notifications already posted are dropped
}

void Exchange::logAccess() {
  if (report_.logged) return;
  report_.logged = true;
  const auto total = std::chrono::duration_cast<std::chrono::microseconds>(base::MonoClock::now() - report_.started_at);
  recordExchangeMetrics(dest_.route, request_.method, toString(report_.verdict), report_.status, report_.body_bytes,
                        total);
  if (report_.upstream_latency.count() >= 0) recordRouteUpstreamLatency(dest_.route, report_.upstream_latency);
  if (shadow_.isShadow()) shadow_.record(*dest_.route);
  if (config_->log.access_log == "off") return;
  const std::string time = base::rfc3339Now();
  AccessRecord record;
  record.time = time;
  record.client = client_.peerIp();
  record.method = request_.method;
  record.target = request_.target;
  record.version_minor = request_.version_minor;
  record.status = report_.status;
  record.bytes = report_.body_bytes;
  record.upstream_seconds = report_.upstream_latency.count() < 0 ? -1.0 : report_.upstream_latency.count() / 1e9;
  record.cache = toString(report_.verdict);
  record.route = dest_.route != nullptr ? std::string_view(dest_.route->name) : std::string_view("-");
  record.shadow = shadow_.label();
  record.total_seconds = total.count() / 1e6;
  base::Log::access(formatAccessLine(record, config_->log.access_format));
}

}  // namespace larder::proxy
