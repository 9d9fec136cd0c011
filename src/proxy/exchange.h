// Exchange: one request's whole state, from its head to the last byte of its
// answer (STYLE §2). The ClientConnection owns it; it owns its Pendings (the
// store lookup, a pass-through upstream request, its registration as a
// fill's reader, timers), so destroying it cancels everything in flight. A
// miss's fetch is not among them: it belongs to the worker (FillFetch), and
// this request is one of its fill's readers like any other.
//
// Re-entrancy: every call into ClientConnection that may end the exchange
// (finish(), the client's abort) is the last thing an Exchange method does.
//
// Files: exchange.cc forwards and streams; exchange_cache.cc looks up,
// serves entries (fresh, stale, revalidated, 304) and invalidates;
// exchange_fill.cc reads a fill (proxy/fill_fetch.h fetches it, with the
// distributed lock and revalidation); exchange_shadow.cc
// decides for shadow routes (mode: shadow) and compares their answers.
#pragma once

#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/time.h"
#include "cache/cache_status.h"
#include "cache/digest.h"
#include "cache/coalescer.h"
#include "cache/entry_codec.h"
#include "cache/lookup_session.h"
#include "cache/store.h"
#include "config/config.h"
#include "http/message.h"
#include "http/target.h"
#include "net/loop.h"
#include "net/timer.h"
#include "proxy/capture.h"
#include "proxy/fill_fetch.h"
#include "proxy/proxy_context.h"
#include "proxy/shadow_comparison.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class ClientConnection;

enum class ExchangeState {
  kReceived,           // the request head is read; not routed yet
  kLookingUp,          // waiting for the store: entry and namespace versions
  kWaitingForFill,     // a miss reading a fill (its own fetch or another's), before its head
  kBufferingBody,      // holding a small request body before forwarding it whole
  kForwarding,         // request on its way upstream; waiting for the response head
  kInvalidating,       // a write's answer is held until its invalidation lands
  kStreamingResponse,  // response head written to the client; body streaming
  kComplete,           // the whole answer is queued on the client socket
};

std::string_view toString(ExchangeState state);

// The one table of the exchange's transitions: each state → the states it
// may change to. setState() checks every change against it (LARDER_BUG).
// Re-entries: a lookup may look up again (a Vary learned meanwhile), and a
// fill's reader may look up again or read another fill (the fill was
// abandoned, or the answer varies).
constexpr uint32_t stateBit(ExchangeState state) { return 1u << static_cast<unsigned>(state); }
inline constexpr uint32_t kAllowedNext[] = {
    // kReceived
    stateBit(ExchangeState::kLookingUp) | stateBit(ExchangeState::kBufferingBody) |
        stateBit(ExchangeState::kForwarding) | stateBit(ExchangeState::kComplete),
    // kLookingUp
    stateBit(ExchangeState::kLookingUp) | stateBit(ExchangeState::kWaitingForFill) |
        stateBit(ExchangeState::kBufferingBody) | stateBit(ExchangeState::kForwarding) |
        stateBit(ExchangeState::kComplete),
    // kWaitingForFill
    stateBit(ExchangeState::kLookingUp) | stateBit(ExchangeState::kWaitingForFill) |
        stateBit(ExchangeState::kBufferingBody) | stateBit(ExchangeState::kForwarding) |
        stateBit(ExchangeState::kStreamingResponse) | stateBit(ExchangeState::kComplete),
    // kBufferingBody
    stateBit(ExchangeState::kForwarding) | stateBit(ExchangeState::kComplete),
    // kForwarding
    stateBit(ExchangeState::kStreamingResponse) | stateBit(ExchangeState::kInvalidating) |
        stateBit(ExchangeState::kComplete),
    // kInvalidating
    stateBit(ExchangeState::kStreamingResponse) | stateBit(ExchangeState::kComplete),
    // kStreamingResponse
    stateBit(ExchangeState::kComplete),
    // kComplete: final
    0,
};
static_assert(std::size(kAllowedNext) == static_cast<size_t>(ExchangeState::kComplete) + 1);

// How the cache answered (X-Cache, the access log, the metrics' label);
// control flow compares these, never the strings.
enum class CacheVerdict {
  kNone,         // "-": not a cacheable route
  kHit,          // served from a fresh entry
  kStale,        // served from an expired entry (stale-while-revalidate / -if-error)
  kRevalidated,  // an expired entry renewed by the upstream's 304
  kMiss,         // fetched: the store was read and had nothing usable
  kBypass,       // fetched: the store could not be asked (the versions are unknown)
};

std::string_view toString(CacheVerdict verdict);

class Exchange : public upstream::ResponseHandler {
 public:
  Exchange(ClientConnection& client, ProxyContext& context, http::RequestHead&& head);
  ~Exchange() override;

  void start();
  void onRequestBody(std::string_view data);
  void onRequestComplete();
  // Request body bytes not yet written upstream (client-side backpressure).
  size_t queuedRequestBodyBytes() const;
  // The client's write queue fell below the low-water mark.
  void onClientDrained();
  bool hasResponseStarted() const { return state_ >= ExchangeState::kStreamingResponse; }

  // Request bodies up to this size are read whole before anything goes
  // upstream, so a malformed body never reaches it (DESIGN invariant 10).
  static constexpr size_t kBodyBufferSize = 64 * 1024;
  static constexpr size_t kClientHighWater = 256 * 1024;
  static constexpr size_t kClientLowWater = 64 * 1024;

 private:
  // upstream::ResponseHandler
  void onUpstreamInterim(const http::ResponseHead& head) override;
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(upstream::UpstreamError error) override;
  void onUpstreamBodyDrained() override;
  void onUpstreamReadEnd() override { flushHead(); }

  // exchange.cc
  void setState(ExchangeState state);
  void proceedUpstream();
  void forward();
  upstream::OutgoingRequest buildUpstreamRequest();
  void takeAnswerKeys(http::HeaderMap& headers);
  void sendResponseHead(http::ResponseHead& head);
  void addCacheStatusFields(http::HeaderMap& headers);
  void writeBody(std::string body);
  void writeLastChunk();
  void flushHead();
  void replyLocally(int status, std::string_view message, std::string_view extra_headers = {});
  void replyUpstreamFailed(upstream::UpstreamError error);
  void finish();
  void logAccess();

  // exchange_cache.cc
  void route();
  void lookUp();
  void onLookedUp(cache::LookupOutcome&& outcome);
  void rekeyForVary(const http::ResponseHead& head);
  void serveEntry(cache::Entry&& entry, CacheVerdict verdict);
  // The entry in the form this client gets (cache/stored_coding.h); false
  // when its stored bytes do not decode.
  bool readyForm(cache::Entry& entry);
  bool serveStaleOnError();
  bool useFillLock() const;
  void refreshInBackground(std::shared_ptr<cache::Fill> fill, const cache::Entry& stale);
  void bypass(std::string_view reason);
  CacheSlot cacheSlot() const;
  void startFill(std::shared_ptr<cache::Fill> fill);
  FillRequest fillRequest() const;

  // exchange_invalidation.cc
  void invalidateBeforeAnswer(http::ResponseHead& head);
  bool invalidateUnanswered(upstream::UpstreamError error);
  void invalidate(const http::HeaderMap* answer_headers);
  // `first`: the first attempt (later ones are write_consistency retries).
  void onInvalidated(cache::StoreStatus status, bool first);
  // Schedules another attempt if the write's answer may still wait.
  bool retryInvalidation();

  // exchange_fill.cc
  void missed(bool lead, std::shared_ptr<cache::Fill> fill, CacheVerdict verdict);
  void waitForFill();
  void startLockTimer();
  void onFillProgress();
  void onFillEnded(const cache::Fill::Progress& progress);
  bool onFillHead(const cache::Fill::Progress& progress);
  void stopWaiting();

  // exchange_shadow.cc
  void decideShadow(std::optional<cache::Entry> entry);
  void keepShadowBody(std::string_view data);
  void compareShadow();
  std::string_view shadowLabel() const;  // for the access log; empty when not shadow
  void recordShadowOutcome();

  ClientConnection& client_;
  ProxyContext& context_;
  config::ConfigPtr config_;
  http::RequestHead request_;
  std::unique_ptr<upstream::UpstreamRequest> upstream_;
  ExchangeState state_ = ExchangeState::kReceived;
  std::string buffered_body_;
  bool request_complete_ = false;
  bool head_request_ = false;
  bool chunked_to_client_ = false;
  bool keep_alive_ = true;
  bool upstream_paused_ = false;
  bool logged_ = false;
  int status_ = 0;
  uint64_t body_bytes_sent_ = 0;
  base::MonoTime started_at_;
  std::chrono::nanoseconds upstream_latency_{-1};
  CacheVerdict cache_status_ = CacheVerdict::kNone;  // X-Cache
  cache::CacheStatus cache_report_;       // Cache-Status (RFC 9211)

  // The request as the cache sees it.
  const config::Route* route_ = nullptr;  // owned by config_
  config::Params params_;
  std::string host_;
  std::string path_;
  std::string upstream_target_;           // origin-form, as forwarded and keyed
  std::string upstream_method_;           // GET when a HEAD miss fills the cache
  base::WallTime request_time_;
  // A read route's lookup (cache/lookup_session.h): its keys, the versions
  // it saw, its store read in flight. Borrows request_.headers.
  std::unique_ptr<cache::LookupSession> session_;

  // A shadow route's leading miss: the answer captured for the store.
  std::unique_ptr<Capture> capture_;
  // An expired entry kept for revalidation (by the fill) and stale-if-error.
  std::optional<cache::Entry> stale_entry_;
  std::chrono::milliseconds stale_if_error_{0};
  // The surrogate version keys the upstream's answer named (nullopt: none).
  std::optional<std::vector<std::string>> answer_keys_;

  // A write: its answer is held while its invalidation is in flight.
  bool invalidates_ = false;
  cache::Pending invalidation_;
  cache::Invalidation pending_invalidation_;
  std::optional<http::ResponseHead> held_head_;
  // The response head, serialized, waiting to leave in one write with the
  // first body bytes (one segment, one syscall: as nginx does).
  std::string unsent_head_;
  std::string held_body_;                 // at most one upstream read: reading is paused
  bool held_complete_ = false;
  // The upstream failed after the write reached it: this error is answered
  // once the invalidation lands (DESIGN invariant 13).
  std::optional<upstream::UpstreamError> held_error_;
  // store.redis.write_consistency (issue 16): until then, a failed
  // invalidation is retried before the answer goes out.
  base::MonoTime invalidation_deadline_{};
  std::unique_ptr<net::Timer> invalidation_retry_;

  // Reading a fill (exchange_fill.cc).
  std::shared_ptr<cache::Fill> fill_;
  cache::FillWaiter fill_waiter_;
  bool fill_started_ = false;             // this request caused the fill's fetch
  size_t fill_offset_ = 0;                // body bytes already sent from the fill
  size_t fill_interim_sent_ = 0;          // interim (1xx) heads already relayed
  bool fill_head_sent_ = false;
  uint64_t fill_restarts_seen_ = 0;       // Fill::Progress::restarts
  std::unique_ptr<net::Timer> lock_timer_;

  // A shadow route's request (exchange_shadow.cc): what the cache would
  // have done, and for a sampled would-be hit the comparison of the stored
  // answer with the fresh one.
  enum class ShadowVerdict { kNone, kWouldHit, kWouldMiss };
  ShadowVerdict shadow_ = ShadowVerdict::kNone;
  ShadowComparison shadow_check_;
  net::Liveness liveness_;                // last member: dies first
};

}  // namespace larder::proxy
