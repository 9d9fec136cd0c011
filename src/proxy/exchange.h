// Exchange: one request's whole state, from its head to the last byte of its
// answer (STYLE §2): HTTP framing and streaming. It reads a request, asks
// the cache (cache::LookupSession, which runs the lookup protocol and
// answers hit, join, fetch or bypass), and writes what it is given: an
// entry, a fill's answer as one of its readers, or a pass-through upstream
// stream. The ClientConnection owns it; it owns its Pendings (the session
// and its store read, a pass-through upstream request, its registration as
// a fill's reader, timers), so destroying it cancels everything in flight.
// A miss's fetch is not among them: it belongs to the worker (FillFetch),
// and this request is one of its fill's readers like any other.
//
// Lifetime: the ClientConnection never destroys an exchange inside one of
// its calls. finish() stops it (stop(): nothing of it is in flight any
// more, nothing posted to it runs) and hands it back; the connection
// destroys it on a later turn (net::Graveyard). A cut (the client's abort)
// closes the socket; the exchange lives until the close callback.
//
// Files: exchange.cc forwards and streams (and holds a write's answer
// while proxy/write_invalidation.h invalidates); exchange_cache.cc routes,
// acts on the session's outcome, serves entries (fresh, stale, revalidated,
// 304) and reads fills (proxy/fill_fetch.h fetches them, with the
// distributed lock and revalidation). proxy/shadow_route.h decides for
// shadow routes (mode: shadow) and compares their answers.
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
#include "cache/decoding_stream.h"
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
#include "proxy/shadow_route.h"
#include "proxy/write_invalidation.h"
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
    // kLookingUp (a hit of a large coded entry streams while it decodes)
    stateBit(ExchangeState::kLookingUp) | stateBit(ExchangeState::kWaitingForFill) |
        stateBit(ExchangeState::kBufferingBody) | stateBit(ExchangeState::kForwarding) |
        stateBit(ExchangeState::kStreamingResponse) | stateBit(ExchangeState::kComplete),
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
  bool isHead() const { return request_.method == "HEAD"; }

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
  // Cancels what is in flight: a finished exchange is inert.
  void stop();
  void logAccess();

  // A write's answer waits for its invalidation (proxy/write_invalidation.h).
  bool isWrite() const { return !http::isSafeMethod(request_.method); }
  bool invalidateUnanswered(upstream::UpstreamError error);
  void invalidate(std::optional<http::ResponseHead> head, std::optional<upstream::UpstreamError> error);
  void onInvalidated(WriteInvalidation::Answer&& answer);

  // exchange_cache.cc: the cache's answer
  void route();
  void lookUp();
  void onLookedUp(cache::LookupOutcome&& outcome);
  void decideShadow(std::optional<cache::Entry> entry);  // proxy/shadow_route.h
  void rekeyForVary(const http::ResponseHead& head);
  void serveEntry(cache::Entry&& entry, CacheVerdict verdict);
  void sendDecoded();  // a large coded entry: decoded chunks while the client keeps up
  bool serveStaleOnError();
  void refreshInBackground(std::shared_ptr<cache::Fill> fill, const cache::Entry& stale);
  void bypass(std::string_view reason);
  // exchange_cache.cc: a miss reads a fill
  void missed(bool lead, std::shared_ptr<cache::Fill> fill, CacheVerdict verdict);
  void startFill(std::shared_ptr<cache::Fill> fill);
  bool useFillLock() const;
  void waitForFill();
  void startLockTimer();
  void onFillProgress();
  void onFillEnded(const cache::Fill::Progress& progress);
  bool onFillHead(const cache::Fill::Progress& progress);
  void stopWaiting();

  // The client's request body: held whole while small (kBodyBufferSize),
  // until it can go upstream.
  struct RequestBody {
    std::string buffered;
    bool complete = false;  // the client sent all of it (or there is none)
  };

  // How the answer goes to the client.
  struct Framing {
    // The response head, serialized, waiting to leave in one write with the
    // first body bytes (one segment, one syscall: as nginx does).
    std::string unsent_head;
    bool chunked = false;  // the body goes chunked (its length is unknown)
  };

  // What this exchange reports: the access log, the metrics, X-Cache and
  // Cache-Status.
  struct Report {
    bool logged = false;
    int status = 0;
    uint64_t body_bytes = 0;
    base::MonoTime started_at;
    std::chrono::nanoseconds upstream_latency{-1};
    CacheVerdict verdict = CacheVerdict::kNone;  // X-Cache
    cache::CacheStatus cache_status;             // Cache-Status (RFC 9211)
  };

  // Where the request goes (route(), proxy/forwarding.h): forwarded exactly
  // as keyed (DESIGN invariant 11).
  struct Destination {
    const config::Route* route = nullptr;  // owned by config_
    // params, host (the keyed one) and path: for a request that is not
    // looked up (a write's invalidation reads them); a lookup moves them
    // into its session (session_->request()) and leaves these empty.
    config::Params params;
    std::string host;
    std::string path;
    std::string target;                    // origin-form, as forwarded and keyed
    std::string method;                    // GET when a HEAD miss fills the cache
    base::WallTime sent_at;                // when the request began (the capture's request_time)
  };

  // An expired entry kept for revalidation (by the fill) and stale-if-error.
  struct StaleFallback {
    cache::Entry entry;
    std::chrono::milliseconds if_error{0};
  };

  // This request as a reader of a fill (exchange_cache.cc).
  struct FillReading {
    std::shared_ptr<cache::Fill> fill;
    cache::FillWaiter waiter;
    bool started = false;                  // this request caused the fill's fetch
    size_t offset = 0;                     // body bytes already sent from the fill
    size_t interim_sent = 0;               // interim (1xx) heads already relayed
    bool head_sent = false;
    uint64_t restarts_seen = 0;            // Fill::Progress::restarts
    std::unique_ptr<net::Timer> lock_timer;
  };

  // A large coded entry sent decoded (cache::ServedForm::kDecodeWhileSending): the
  // stored bytes, decoded a chunk at a time as the client drains.
  struct EntryDecoding {
    EntryDecoding(cache::Coding coding, uint64_t length, cache::EntryBody stored);
    cache::EntryBody coded;  // what `stream` reads: declared first, outlives it
    cache::DecodingStream stream;
    uint64_t length;    // the decoded length, sent as Content-Length
    std::string held;   // the newest chunk, sent once the next is known
  };

  ClientConnection& client_;
  ProxyContext& context_;
  config::ConfigPtr config_;
  http::RequestHead request_;
  ExchangeState state_ = ExchangeState::kReceived;
  Report report_;
  Destination dest_;
  // A read route's lookup (cache/lookup_session.h): its keys, the versions
  // it saw, its store read in flight. Borrows request_.headers.
  std::unique_ptr<cache::LookupSession> session_;
  std::unique_ptr<upstream::UpstreamRequest> upstream_;  // a pass-through (or shadow) request
  RequestBody body_;
  bool keep_alive_ = true;
  Framing framing_;
  bool upstream_paused_ = false;
  // The surrogate version keys the upstream's answer named (nullopt: none).
  std::optional<std::vector<std::string>> answer_keys_;
  // The parts few requests use are allocated when used, so that the
  // exchange stays small (the static_assert in exchange.cc).
  std::unique_ptr<StaleFallback> stale_;         // null: no expired entry kept
  std::unique_ptr<WriteInvalidation> write_;     // a write's answer, held while it invalidates
  FillReading reading_;
  ShadowRoute shadow_;
  std::unique_ptr<EntryDecoding> decoding_;
  net::LivenessToken liveness_;  // last member: dies first
};

}  // namespace larder::proxy
