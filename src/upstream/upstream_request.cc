#include "upstream/upstream_request.h"

#include "base/metric_catalog.h"
#include "http/serializer.h"
#include "upstream/pool.h"
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
  // The head is kept only when a retry might need to send it again.
  std::string head = request_.retryable ? request_.head : std::move(request_.head);
  unsent_.insert(0, head);
  connection_ = &pool_.acquire(/*allow_idle=*/!retried_);
  connection_->attach(*this, request_.method);
}

void UpstreamRequest::onConnected(UpstreamConnection& connection) {
  if (!unsent_.empty()) {
    std::string bytes = std::move(unsent_);
    unsent_.clear();
    connection.write(std::move(bytes));
  }
}

void UpstreamRequest::writeToConnection(std::string bytes) {
  if (connection_ != nullptr && connection_->state() == UpstreamConnection::State::kActive) {
    connection_->write(std::move(bytes));
  } else {
    unsent_ += bytes;
  }
}

void UpstreamRequest::sendBody(std::string_view data) {
  if (data.empty()) return;
  body_started_ = true;
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
  head_latency_ = std::chrono::duration_cast<base::Duration>(elapsed);
  base::metrics::upstream_response_seconds.observe(elapsed);
  base::metrics::upstream_responses.add(base::metrics::statusClassIndex(head.status), 1);
  handler_.onUpstreamHead(head);
}

void UpstreamRequest::onBody(std::string_view data) { handler_.onUpstreamBody(data); }

void UpstreamRequest::onComplete() {
  connection_ = nullptr;
  handler_.onUpstreamComplete();
}

void UpstreamRequest::onFailed(UpstreamError error, bool reused_connection_closed_early) {
  connection_ = nullptr;
  if (reused_connection_closed_early && request_.retryable && !retried_ && !body_started_) {
    retried_ = true;
    start();
    return;
  }
  base::metrics::upstream_errors.add(static_cast<size_t>(error), 1);
  handler_.onUpstreamError(error);
}

}  // namespace larder::upstream
