// UpstreamRequest: one request's exchange with the upstream, and the
// `Pending` its owner keeps (STYLE L4). Destroying it detaches from the
// connection: a connection in mid-response is closed, never reused, and no
// callback reaches the handler afterwards.
//
// Attempts: a connect that fails or times out sent nothing, so any request
// goes on to the next server not yet tried. A retryable request (see
// OutgoingRequest) whose connection closes before any byte of the answer is
// resent once on a new connection, to another server if there is one. The
// handler sees only the final outcome.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "http/message.h"
#include "upstream/upstream_error.h"

namespace larder::upstream {

class Pool;
class ServerHealth;
class UpstreamConnection;

// Receives the response. Each callback may destroy the UpstreamRequest.
class ResponseHandler {
 public:
  virtual ~ResponseHandler() = default;
  // An interim (1xx) response head other than 101, before the final one;
  // zero or more times. Hop-by-hop fields are still in it.
  virtual void onUpstreamInterim(const http::ResponseHead& head) { (void)head; }
  // The final (non-1xx) response head; the handler may move fields out.
  virtual void onUpstreamHead(http::ResponseHead& head) = 0;
  // Decoded body bytes; valid only during the call.
  virtual void onUpstreamBody(std::string_view data) = 0;
  // The response is complete. Terminal.
  virtual void onUpstreamComplete() = 0;
  // Failed, before or after the head. Terminal.
  virtual void onUpstreamError(UpstreamError error) = 0;
  // The request body queue fell below the low-water mark.
  virtual void onUpstreamBodyDrained() {}
  // Everything one read from the upstream held has been delivered, and the
  // response goes on: what was held back to share a write may go now.
  virtual void onUpstreamReadEnd() {}
};

struct OutgoingRequest {
  std::string method;
  std::string head;  // serialized request head, ready to send
  http::BodyFraming body_framing = http::BodyFraming::kNone;  // kNone, kContentLength or kChunked
  // Safe to resend on a new connection when one closes before any byte of
  // the answer: an idempotent method (RFC 9110 §9.2.2) whose
  // whole body, if any, is handed over at once. The body is kept for the
  // resend (up to kMaxReplayBytes; a longer one is not resent). A request
  // that is not retryable only reuses a connection idle for a moment
  // (Pool::Reuse::kRecent).
  bool retryable = false;
  // Only this server: no other is tried, nothing is resent (health checks).
  const ServerHealth* server = nullptr;
};

class UpstreamRequest {
 public:
  UpstreamRequest(Pool& pool, OutgoingRequest request, ResponseHandler& handler);
  ~UpstreamRequest();
  UpstreamRequest(const UpstreamRequest&) = delete;
  UpstreamRequest& operator=(const UpstreamRequest&) = delete;

  void start();
  // Request body bytes (copied), framed for the upstream as declared.
  void sendBody(std::string_view data);
  void finishBody();
  // Body bytes accepted but not yet written; for client-side backpressure.
  size_t queuedBodyBytes() const;
  // Response backpressure: stop/resume reading from the upstream.
  void pauseReading();
  void resumeReading();
  // The whole request has been handed over (the connection may be reused).
  // Whether any attempt got as far as a connection, so the server may have
  // received (and applied) the request, whatever the last attempt's error.
  bool mayHaveReachedServer() const { return sent_; }
  bool isBodyComplete() const {
    return request_.body_framing == http::BodyFraming::kNone || body_finished_;
  }
  // Time from start() until the response head arrived.
  std::chrono::nanoseconds headLatency() const { return head_latency_; }

  static constexpr size_t kHighWater = 256 * 1024;
  // The proxy hands over bodies of up to 64 KiB whole (and a last read).
  static constexpr size_t kMaxReplayBytes = 128 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;

  // Called by UpstreamConnection.
  void onConnected(UpstreamConnection& connection);
  void onReadEnd() { handler_.onUpstreamReadEnd(); }
  void onInterim(const http::ResponseHead& head) { handler_.onUpstreamInterim(head); }
  void onHead(http::ResponseHead& head);
  void onBody(std::string_view data);
  void onComplete();
  void onFailed(UpstreamError error, bool closed_before_answer);
  void onWritten();
  // Its connection was destroyed without an answer (the pool went first):
  // nothing more will come, and nothing may reach it.
  void onConnectionGone() { connection_ = nullptr; }

 private:
  void writeToConnection(std::string bytes);
  void acquireConnection();

  Pool& pool_;
  OutgoingRequest request_;
  ResponseHandler& handler_;
  UpstreamConnection* connection_ = nullptr;
  std::string unsent_;   // bytes waiting for the connection to be ready
  std::string replay_;   // the framed body sent so far, while retryable
  std::vector<const ServerHealth*> tried_;  // servers of the attempts so far
  bool body_finished_ = false;
  bool retried_ = false;
  bool sent_ = false;
  bool paused_ = false;
  base::MonoTime started_at_{};
  std::chrono::nanoseconds head_latency_{0};
};

}  // namespace larder::upstream
