#include "upstream/upstream_connection.h"

#include "base/log.h"
#include "base/metric_catalog.h"
#include "upstream/keep_alive.h"
#include "upstream/pool.h"
#include "upstream/server_health.h"
#include "upstream/upstream_request.h"

namespace larder::upstream {

UpstreamConnection::UpstreamConnection(Pool& pool, net::Loop& loop, ServerHealth& server)
    : pool_(pool),
      loop_(loop),
      stream_(loop, *this),
      parser_(*this, http::ResponseParser::Limits{}),
      timer_(loop),
      server_(server) {}

UpstreamConnection::~UpstreamConnection() {
  if (request_ != nullptr) request_->onConnectionGone();
}

void UpstreamConnection::awaitAddress(base::Duration timeout) {
  state_ = State::kConnecting;
  timer_.start(timeout, [this] { fail(UpstreamError::kConnectTimeout, false); });
}

bool UpstreamConnection::useTls(std::shared_ptr<net::TlsContext> context, net::TlsStream::Peer peer) {
  if (context == nullptr) {
    LOG_ERROR("upstream {}: no TLS context (its creation failed at load; see above)", server_.name());
    return false;
  }
  if (stream_.useTls(std::move(context), std::move(peer))) return true;
  LOG_ERROR("upstream {}: cannot set up TLS: {}", server_.name(), stream_.tlsError());
  return false;
}

void UpstreamConnection::failToConnectSoon() {
  // The connect timeout stays armed; whichever comes first fails, and fail()
  // is idempotent.
  loop_.post(liveness_.ref(), [this] { fail(UpstreamError::kConnectFailed, false); });
}

void UpstreamConnection::connectTo(const net::SocketAddress& address) {
  int rc = stream_.connect(address, [this](int status) {
    if (state_ != State::kConnecting) return;  // closed or timed out first
    timer_.stop();
    if (status == net::TlsStream::kHandshakeFailed) {
      // A connect failure for failover and passive health; the reason is
      // what the operator must fix (a CA, a name, an expired certificate).
      base::metrics::upstream_tls_handshakes.add(
          static_cast<size_t>(base::metrics::UpstreamTlsHandshake::kFailed), 1);
      LOG_WARN("upstream {}: TLS handshake failed: {}", server_.name(), stream_.tlsError());
      fail(UpstreamError::kConnectFailed, false);
      return;
    }
    if (status != 0) {
      LOG_DEBUG("upstream connect failed: {}", uv_strerror(status));
      fail(UpstreamError::kConnectFailed, false);
      return;
    }
    if (stream_.isTls()) {
      const auto result = stream_.isResumed() ? base::metrics::UpstreamTlsHandshake::kResumed
                                              : base::metrics::UpstreamTlsHandshake::kFull;
      base::metrics::upstream_tls_handshakes.add(static_cast<size_t>(result), 1);
    }
    state_ = State::kActive;
    stream_.startReading();
    armResponseTimer();
    if (request_ != nullptr) request_->onConnected(*this);
  });
  // A synchronous failure is reported from the loop, never re-entrantly
  // from inside Pool::start().
  if (rc != 0) failToConnectSoon();
}

void UpstreamConnection::attach(UpstreamRequest& request, std::string_view method) {
  request_ = &request;
  response_bytes_seen_ = false;
  response_complete_ = false;
  keep_alive_ = true;
  parser_.expectResponseTo(method);
  if (parser_.isPaused()) parser_.resume();
  if (state_ == State::kIdle) {
    state_ = State::kActive;
    stream_.startReading();
    armResponseTimer();
    request.onConnected(*this);
  }
}

void UpstreamConnection::detach() {
  request_ = nullptr;
  if (state_ != State::kIdle) close();
}

void UpstreamConnection::write(std::string bytes) {
  // Straight to the socket once the request has no body left to stream: a
  // paused client body resumes only from a queued write's callback.
  stream_.writeDirectly(request_ == nullptr || request_->isBodyComplete());
  if (!stream_.write(std::move(bytes))) fail(UpstreamError::kReset, false);
}

void UpstreamConnection::resumeReading() {
  if (state_ == State::kActive || state_ == State::kIdle) stream_.startReading();
}

void UpstreamConnection::close() {
  if (state_ == State::kClosing) return;
  state_ = State::kClosing;
  request_ = nullptr;
  timer_.stop();
  stream_.close();
}

void UpstreamConnection::armResponseTimer() {
  timer_.start(pool_.config().response_timeout,
               [this] { fail(UpstreamError::kResponseTimeout, false); });
}

void UpstreamConnection::fail(UpstreamError error, bool closed_before_answer) {
  if (state_ == State::kClosing) return;
  UpstreamRequest* request = request_;
  close();
  if (error == UpstreamError::kConnectFailed || error == UpstreamError::kConnectTimeout ||
      error == UpstreamError::kResponseTimeout) {
    server_.onFailure(base::monoMillis(), pool_.config().passive_health);
    if (error != UpstreamError::kResponseTimeout) pool_.onConnectFailed(server_);
  } else if (!(closed_before_answer && isReused())) {
    // A kept-alive connection closed as a request went out is the keep-alive
    // race, not the server failing; other resets and bad answers are counted.
    server_.countFailure();
  }
  if (request != nullptr) request->onFailed(error, closed_before_answer);
}

void UpstreamConnection::onStreamRead(std::string_view data) {
  if (state_ == State::kIdle) {
    // An idle connection has nothing to say; bytes mean it is unusable.
    close();
    return;
  }
  if (state_ != State::kActive || request_ == nullptr) return;
  response_bytes_seen_ = true;
  armResponseTimer();
  size_t offset = 0;
  while (offset < data.size()) {
    offset += parser_.feed(data.substr(offset));
    if (parser_.error() != http::ParseError::kNone) {
      LOG_WARN("bad upstream response: {}", parser_.errorReason());
      fail(UpstreamError::kBadResponse, false);
      return;
    }
    // A callback may have detached the request (and closed us).
    if (state_ != State::kActive) return;
    if (response_complete_) {
      // Bytes after a complete response mean the connection cannot be reused.
      UpstreamRequest* request = request_;
      request_ = nullptr;
      bool reusable = keep_alive_ && offset == data.size() && request->isBodyComplete();
      ++requests_served_;
      if (reusable) {
        // An idle connection always reads, whoever paused it while it was
        // busy (client backpressure, a write's invalidation): the server's
        // keep-alive close must be seen at once, not by the next request.
        state_ = State::kIdle;
        stream_.startReading();
        idle_since_ = base::MonoClock::now();
        timer_.start(idle_limit_, [this] { close(); });
        pool_.release(*this);
      } else {
        close();
      }
      request->onComplete();
      return;
    }
    if (parser_.isPaused()) parser_.resume();  // an interim 1xx response ended
  }
  if (state_ == State::kActive && request_ != nullptr) request_->onReadEnd();
}

void UpstreamConnection::onStreamEnd(int status) {
  if (state_ != State::kActive || request_ == nullptr) {
    close();
    return;
  }
  if (status == UV_EOF && parser_.finish() == http::ParseError::kNone && response_complete_) {
    // A close-delimited body ended with the connection.
    keep_alive_ = false;
    UpstreamRequest* request = request_;
    request_ = nullptr;
    close();
    request->onComplete();
    return;
  }
  if (status == net::TlsStream::kTruncated) {
    LOG_WARN("upstream {}: TLS connection closed without close_notify before the answer ended",
             server_.name());
  } else if (status == UV_EPROTO && stream_.isTls()) {
    LOG_WARN("upstream {}: TLS error: {}", server_.name(), stream_.tlsError());
  }
  // A keep-alive connection the server closed before answering: the request
  // may be retried on a fresh one.
  fail(UpstreamError::kReset, !response_bytes_seen_);
}

void UpstreamConnection::onStreamWritten(int status) {
  if (status != 0) {
    if (status != UV_ECANCELED) fail(UpstreamError::kReset, !response_bytes_seen_);
    return;
  }
  if (state_ == State::kActive && request_ != nullptr) {
    if (!response_bytes_seen_) armResponseTimer();
    request_->onWritten();
  }
}

void UpstreamConnection::onStreamClosed() { pool_.onClosed(*this); }

void UpstreamConnection::onResponseHead(http::ResponseHead& head) {
  last_head_interim_ = head.isInterim();
  if (last_head_interim_) {
    // 101 would switch protocols, which larder never asks for (Upgrade is
    // hop-by-hop and not forwarded); other 1xx go to the handler.
    if (head.status != 101 && request_ != nullptr) request_->onInterim(head);
    return;
  }
  keep_alive_ = head.keep_alive;
  server_.onSuccess();
  // Retire the connection before the server would (upstream/keep_alive.h).
  const std::string* hint = head.headers.find("Keep-Alive");
  idle_limit_ = idleLimit(pool_.config().idle_timeout, hint != nullptr ? parseKeepAlive(*hint) : KeepAliveHint{});
  if (idle_limit_ <= base::Duration(0)) keep_alive_ = false;
  if (request_ != nullptr) request_->onHead(head);
}

void UpstreamConnection::onResponseBody(std::string_view data) {
  if (request_ != nullptr) request_->onBody(data);
}

void UpstreamConnection::onResponseComplete() {
  // Interim responses complete too; only a final one ends the exchange. The
  // parser tells them apart by the last head it delivered.
  if (!last_head_interim_) response_complete_ = true;
}

}  // namespace larder::upstream
