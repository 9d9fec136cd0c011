// Exchange: one request's whole state, from its head to the last byte of its
// answer (STYLE §2). The ClientConnection owns it; it owns its upstream
// Pending, so destroying it cancels everything in flight.
//
// Re-entrancy: every call into ClientConnection that may end the exchange
// (finish(), the client's abort) is the last thing an Exchange method does.
#pragma once

#include <memory>
#include <string>

#include "base/time.h"
#include "cache/entry_codec.h"
#include "cache/store.h"
#include "config/config.h"
#include "http/target.h"
#include "http/message.h"
#include "proxy/proxy_context.h"
#include "upstream/upstream_request.h"

namespace larder::proxy {

class ClientConnection;

enum class ExchangeState {
  kLookingUp,          // waiting for the store: entry and namespace versions
  kBufferingBody,      // holding a small request body before forwarding it whole
  kForwarding,         // request on its way upstream; waiting for the response head
  kInvalidating,       // a write's answer is held until its invalidation lands
  kStreamingResponse,  // response head written to the client; body streaming
  kComplete,           // the whole answer is queued on the client socket
};

std::string_view toString(ExchangeState state);

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
  void onUpstreamHead(http::ResponseHead& head) override;
  void onUpstreamBody(std::string_view data) override;
  void onUpstreamComplete() override;
  void onUpstreamError(upstream::UpstreamError error) override;
  void onUpstreamBodyDrained() override;

  void setState(ExchangeState state);
  // exchange_cache.cc: the cache's part of the exchange.
  void route();
  void lookUp(const http::Target& target, std::string_view host);
  void onLookup(cache::LookupResult&& result);
  void serveHit(cache::Entry&& entry);
  void bypass(std::string_view reason);
  void startCapture(const http::ResponseHead& head);
  void captureBody(std::string_view data);
  void finishCapture();
  bool invalidateBeforeAnswer(http::ResponseHead& head);
  void onInvalidated(cache::StoreStatus status);
  void sendResponseHead(http::ResponseHead& head);

  void proceedUpstream();
  void forward();
  upstream::OutgoingRequest buildUpstreamRequest();
  void replyLocally(int status, std::string_view message, std::string_view extra_headers = {});
  void finish();
  void logAccess();

  ClientConnection& client_;
  ProxyContext& context_;
  config::ConfigPtr config_;
  http::RequestHead request_;
  std::unique_ptr<upstream::UpstreamRequest> upstream_;
  ExchangeState state_ = ExchangeState::kForwarding;
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
  base::Duration upstream_latency_{-1};
  std::string_view cache_status_ = "-";

  // Cache state (exchange_cache.cc).
  const config::Route* route_ = nullptr;
  config::Params params_;
  std::string host_;
  std::string path_;
  std::string upstream_method_;         // GET when a HEAD miss fills the cache
  std::string identity_;                // serialized RequestIdentity
  std::string entry_key_;
  std::vector<std::string> version_keys_;
  std::vector<std::optional<std::string>> seen_versions_;
  cache::Pending lookup_;
  cache::Pending invalidation_;
  bool capturing_ = false;
  bool invalidates_ = false;            // unsafe method: a non-error answer invalidates
  int capture_status_ = 0;
  std::string capture_reason_;
  http::HeaderMap capture_headers_;
  std::string capture_body_;
  std::chrono::milliseconds capture_ttl_{0};
  int64_t capture_initial_age_ = 0;
  base::WallTime request_time_;
  // A write's answer held while its invalidation is in flight.
  std::optional<http::ResponseHead> held_head_;
  std::string held_body_;
  bool held_complete_ = false;
  cache::Invalidation pending_invalidation_;
};

}  // namespace larder::proxy
