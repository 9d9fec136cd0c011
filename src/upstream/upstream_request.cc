#include "upstream/upstream_request.h"

#include "base/log.h"
#include "base/metric_catalog.h"
#include "http/serializer.h"
#include "upstream/pool.h"
#include "upstream/server_health.h"
#include "upstream/upstream_connection.h"

namespace larder::upstream {

UpstreamRequest::UpstreamRequest(Pool& pool, OutgoingRequest request, ResponseHandler& handler)
    : pool_(pool), request_(std::move(request)), handler_(handler) {}

UpstreamRequest::~UpstreamRequest() {
  if (connection_ != nullptr) {
    UpstreamConnection* connection = connection_;
    connection_ = nullptr;
    connection->detach();
  }
}

void UpstreamRequest::start() {
  started_at_ = base::MonoClock::now();
  if (request_.retryable) {
    // The head (and body) are kept while a resend might need them.
    unsent_ = request_.head + replay_;
  } else {
    unsent_.insert(0, std::move(request_.head));
  }
  acquireConnection();
}

void UpstreamRequest::acquireConnection() {
  Pool::Reuse reuse = retried_ || request_.server != nullptr ? Pool::Reuse::kNone
                      : request_.retryable                    ? Pool::Reuse::kAny
                                                              : Pool::Reuse::kRecent;
  connection_ = &pool_.acquire(reuse, tried_, request_.server);
  tried_.push_back(&connection_->server());
  connection_->attach(*this, request_.method);
}

void UpstreamRequest::onConnected(UpstreamConnection& connection) {
  sent_ = true;  // from here on, some attempt may have reached the server
  if (!unsent_.empty()) {
    std::string bytes = std::move(unsent_);
    unsent_.clear();
    connection.write(std::move(bytes));
  }
}

void UpstreamRequest::writeToConnection(std::string bytes) {
  if (request_.retryable) {
    if (replay_.size() + bytes.size() > kMaxReplayBytes) {
      request_.retryable = false;  // too long to keep: sent once only
      replay_.clear();
      replay_.shrink_to_fit();
    } else {
      replay_ += bytes;
    }
  }
  if (connection_ != nullptr && connection_->state() == UpstreamConnection::State::kActive) {
    connection_->write(std::move(bytes));
  } else {
    unsent_ += bytes;
  }
}

void UpstreamRequest::sendBody(std::string_view data) {
  if (data.empty()) return;
  if (request_.body_framing == http::BodyFraming::kChunked) {
    std::string framed;
    framed.reserve(data.size() + 16);
    http::appendChunkHeader(data.size(), framed);
    framed.append(data);
    framed.append(http::kChunkEnd);
    writeToConnection(std::move(framed));
  } else {
    writeToConnection(std::string(data));
  }
}

void UpstreamRequest::finishBody() {
  if (body_finished_) return;
  body_finished_ = true;
  if (request_.body_framing == http::BodyFraming::kChunked)
    writeToConnection(std::string(http::kLastChunk));
}

size_t UpstreamRequest::queuedBodyBytes() const {
  return unsent_.size() + (connection_ != nullptr ? connection_->writeQueueBytes() : 0);
}

void UpstreamRequest::pauseReading() {
  paused_ = true;
  if (connection_ != nullptr) connection_->pauseReading();
}

void UpstreamRequest::resumeReading() {
  paused_ = false;
  if (connection_ != nullptr) connection_->resumeReading();
}

void UpstreamRequest::onWritten() {
  if (queuedBodyBytes() < kLowWater) handler_.onUpstreamBodyDrained();
}

void UpstreamRequest::onHead(http::ResponseHead& head) {
  const auto elapsed = base::MonoClock::now() - started_at_;
  head_latency_ = std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed);
  base::metrics::upstream_response_seconds.observe(elapsed);
  base::metrics::upstream_responses.add(base::metrics::statusClassIndex(head.status), 1);
  handler_.onUpstreamHead(head);
}

void UpstreamRequest::onBody(std::string_view data) { handler_.onUpstreamBody(data); }

void UpstreamRequest::onComplete() {
  connection_ = nullptr;
  handler_.onUpstreamComplete();
}

void UpstreamRequest::onFailed(UpstreamError error, bool closed_before_answer) {
  connection_ = nullptr;
  const bool nothing_sent = error == UpstreamError::kConnectFailed || error == UpstreamError::kConnectTimeout;
  if (nothing_sent && request_.server == nullptr && tried_.size() < pool_.serverCount()) {
    // Never connected, so nothing was sent: any method may go elsewhere.
    LOG_DEBUG("upstream {} for {}: trying the next server", toString(error), request_.method);
    acquireConnection();
    return;
  }
  if (closed_before_answer && request_.retryable && !retried_) {
    // A kept-alive connection the server closed as the request went out
    // (RFC 9112 §9.3.1), or a server that died with it: nothing was
    // answered, and resending an idempotent request is safe (RFC 9110
    // §9.2.2). Once, on a new connection.
    retried_ = true;
    base::metrics::upstream_retries.inc();
    LOG_DEBUG("upstream {} before any answer to {}: resending on a new connection", toString(error),
              request_.method);
    start();
    return;
  }
  base::metrics::upstream_errors.add(static_cast<size_t>(error), 1);
  handler_.onUpstreamError(error);
}

}  // namespace larder::upstream
