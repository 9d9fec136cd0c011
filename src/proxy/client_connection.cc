#include "proxy/client_connection.h"

#include <fmt/format.h>

#include "base/log.h"
#include "proxy/local_reply.h"
#include "proxy/proxy_metrics.h"

namespace larder::proxy {
namespace {

http::RequestParser::Limits parserLimits(const config::Config& config) {
  return {config.server.max_header_size, config.server.max_body_size};
}

CloseReason closeReasonFor(http::ParseError error) {
  switch (error) {
    case http::ParseError::kHeadersTooLarge: return CloseReason::kHeadersTooLarge;
    case http::ParseError::kBodyTooLarge: return CloseReason::kBodyTooLarge;
    case http::ParseError::kUnsupported: return CloseReason::kUnsupported;
    default: return CloseReason::kBadRequest;
  }
}

}  // namespace

ClientConnection::ClientConnection(ProxyContext& context, ClosedCallback on_closed)
    : context_(context),
      on_closed_(std::move(on_closed)),
      config_(context.config),
      stream_(context.loop, *this),
      parser_(*this, parserLimits(*config_)),
      timer_(context.loop),
      finished_(context.loop) {
  recordConnectionOpened();
}

ClientConnection::~ClientConnection() = default;

bool ClientConnection::accept(uv_stream_t* server) {
  if (stream_.accept(server) != 0) {
    close(CloseReason::kClientError);
    return false;
  }
  peer_ip_ = stream_.peerIp();
  // Answers leave inside write(): this connection needs onStreamWritten only
  // while bytes are queued (backpressure, close after flush).
  stream_.writeDirectly(true);
  armTimer(config_->server.header_timeout, CloseReason::kHeaderTimeout);
  updateReading();
  return true;
}

void ClientConnection::shutdown() {
  shutting_down_ = true;
  // Answers already queued (pipelined ones waiting on a slow reader) still go.
  if (exchange_ == nullptr && !parser_.isMidMessage()) closeAfterFlush(CloseReason::kShutdown);
}

void ClientConnection::close(CloseReason reason) {
  if (closing_) return;
  closing_ = true;
  close_reason_ = reason;
  if (isError(reason)) LOG_DEBUG("closing client {}: {}", peer_ip_, text(reason));
  timer_.stop();
  // The exchange lives until the close callback: it may be on the stack now.
  stream_.close();
}

void ClientConnection::closeAfterFlush(CloseReason reason) {
  close_after_flush_ = true;
  pending_close_reason_ = reason;
  updateReading();
  if (stream_.writeQueueBytes() == 0) close(reason);
}

void ClientConnection::write(std::string bytes) {
  if (closing_) return;
  if (!stream_.write(std::move(bytes))) close(CloseReason::kClientError);
}

void ClientConnection::write(std::vector<std::string> pieces) {
  if (closing_) return;
  if (!stream_.write(std::move(pieces))) close(CloseReason::kClientError);
}

// A hit's head and body: one vectored write, no vector (net/tcp_stream.h).
void ClientConnection::write(std::string first, std::string second) {
  if (closing_) return;
  if (!stream_.write(std::move(first), std::move(second))) close(CloseReason::kClientError);
}

void ClientConnection::write(std::string first, std::string second, std::string third) {
  std::vector<std::string> pieces;
  pieces.reserve(3);
  pieces.push_back(std::move(first));
  pieces.push_back(std::move(second));
  pieces.push_back(std::move(third));
  write(std::move(pieces));
}

void ClientConnection::write(std::string head, std::shared_ptr<const void> owner, std::string_view shared) {
  if (closing_) return;
  if (!stream_.write(std::move(head), std::move(owner), shared)) close(CloseReason::kClientError);
}

void ClientConnection::updateReading() {
  bool want = !closing_ && !close_after_flush_ && !peer_eof_ && !body_paused_ &&
              input_.size() < kMaxBufferedInput;
  if (want) {
    stream_.startReading();
  } else {
    stream_.stopReading();
  }
}

void ClientConnection::armTimer(base::Duration timeout, CloseReason reason) {
  timer_.start(timeout, [this, reason] { onTimeout(reason); });
}

void ClientConnection::onTimeout(CloseReason reason) {
  if (reason == CloseReason::kHeaderTimeout && request_started_ && exchange_ == nullptr) {
    write(buildLocalReply(408, "request timeout", true, 1));
    closeAfterFlush(reason);
    return;
  }
  close(reason);
}

void ClientConnection::onStreamRead(std::string_view data) {
  input_.append(data);
  if (reading_body_) armTimer(config_->server.body_timeout, CloseReason::kBodyTimeout);
  processInput();
}

void ClientConnection::onStreamEnd(int status) {
  if (status != UV_EOF) {
    close(CloseReason::kClientError);
    return;
  }
  peer_eof_ = true;
  // A half-closed client still gets the answer to a complete request, and
  // the answers already queued for it.
  if (exchange_ != nullptr && !parser_.isMidMessage()) {
    updateReading();
    return;
  }
  if (output_paused_) {
    closeAfterFlush(CloseReason::kClientClosed);
    return;
  }
  close(CloseReason::kClientClosed);
}

void ClientConnection::onStreamWritten(int status) {
  if (status != 0) {
    if (status != UV_ECANCELED) close(CloseReason::kClientError);
    return;
  }
  if (close_after_flush_) {
    if (stream_.writeQueueBytes() == 0) close(pending_close_reason_);
    return;
  }
  if (output_paused_) {
    if (stream_.writeQueueBytes() > kOutputLowWater) {
      // The client reads: its allowance of idle_timeout starts over.
      armTimer(config_->server.idle_timeout, CloseReason::kSendTimeout);
      return;
    }
    if (startNextRequest()) processInput();
    return;
  }
  if (exchange_ != nullptr) exchange_->onClientDrained();
}

void ClientConnection::onStreamClosed() {
  recordConnectionClosed(close_reason_);
  exchange_.reset();
  on_closed_(*this);  // the Server destroys this connection on a later turn
}

void ClientConnection::processInput() {
  if (processing_) return;  // the loop below picks up what changed
  processing_ = true;
  while (!closing_ && !close_after_flush_) {
    if (exchange_finished_) {
      exchange_finished_ = false;
      if (!finished_keep_alive_ || parser_.isMidMessage() || shutting_down_ || peer_eof_) {
        closeAfterFlush(shutting_down_ ? CloseReason::kShutdown : CloseReason::kNotKeepAlive);
        break;
      }
      if (!startNextRequest()) break;
    }
    if (parser_.isPaused() || input_.empty()) break;
    if (!request_started_) {
      request_started_ = true;
      armTimer(config_->server.header_timeout, CloseReason::kHeaderTimeout);
    }
    size_t used = parser_.feed(input_);
    input_.erase(0, used);
    if (parser_.error() != http::ParseError::kNone) {
      rejectRequest(parser_.error());
      break;
    }
  }
  processing_ = false;
  updateReading();
}

// DESIGN invariant 12: each answer is queued whole (a hit is one write of
// head and entry), so without this a client pipelining GETs of one entry
// and never reading would make larder hold one copy per request.
bool ClientConnection::startNextRequest() {
  if (stream_.writeQueueBytes() > kOutputHighWater) {
    output_paused_ = true;
    // A client that takes none of its answers for idle_timeout is gone.
    armTimer(config_->server.idle_timeout, CloseReason::kSendTimeout);
    return false;
  }
  output_paused_ = false;
  parser_.resume();
  request_started_ = false;
  if (input_.empty()) armTimer(config_->server.idle_timeout, CloseReason::kIdleTimeout);
  return true;
}

void ClientConnection::rejectRequest(http::ParseError error) {
  CloseReason reason = closeReasonFor(error);
  LOG_INFO("rejecting request from {}: {} ({})", peer_ip_, text(reason), parser_.errorReason());
  if (exchange_ != nullptr && exchange_->hasResponseStarted()) {
    close(reason);
    return;
  }
  exchange_.reset();  // not on the stack: the parser has returned
  int status = http::statusFor(error);
  if (config_->log.access_log != "off")
    base::Log::access(fmt::format("{} \"-\" {} 0 upstream=- cache=- reason={}", peer_ip_, status,
                                  label(reason)));
  std::string message = parser_.errorReason().empty() ? std::string(text(reason))
                                                      : parser_.errorReason();
  write(buildLocalReply(status, message, true, 1));
  closeAfterFlush(reason);
}

void ClientConnection::onRequestHead(http::RequestHead& head) {
  bool has_body = head.framing != http::BodyFraming::kNone;
  reading_body_ = has_body;
  if (has_body) {
    armTimer(config_->server.body_timeout, CloseReason::kBodyTimeout);
  } else {
    timer_.stop();
  }
  if (head.expect_continue && has_body && head.version_minor >= 1)
    write(std::string("HTTP/1.1 100 Continue\r\n\r\n"));
  if (shutting_down_) head.keep_alive = false;
  exchange_ = std::make_unique<Exchange>(*this, context_, std::move(head));
  exchange_->start();
}

void ClientConnection::onRequestBody(std::string_view data) {
  // The exchange may already have answered (and gone); the rest is dropped.
  if (exchange_ == nullptr) return;
  exchange_->onRequestBody(data);
  if (exchange_ != nullptr && exchange_->queuedRequestBodyBytes() > upstream::UpstreamRequest::kHighWater) {
    body_paused_ = true;
  }
}

void ClientConnection::onRequestComplete() {
  reading_body_ = false;
  if (exchange_ != nullptr && !exchange_finished_) {
    timer_.stop();
    exchange_->onRequestComplete();
  }
}

void ClientConnection::resumeRequestBody() {
  if (!body_paused_) return;
  body_paused_ = false;
  processInput();
}

void ClientConnection::onExchangeComplete(bool keep_alive) {
  if (closing_) return;
  exchange_finished_ = true;
  finished_keep_alive_ = keep_alive;
  // Called from inside the exchange: it goes on a later turn, stopped.
  finished_.bury(std::move(exchange_));
  if (!processing_) processInput();  // else the parsing loop on the stack goes on
}

}  // namespace larder::proxy
