// UpstreamConnection: one keep-alive TCP connection to an upstream server.
// Owned by the Pool; destroyed only from its stream's close callback
// (STYLE L2). While serving a request it holds a pointer to it; the request
// detaches on destruction, which closes the connection unless the response
// had already completed and the connection went back to the pool.
// Attempts that fail for the server's sake (connect refused, connect or
// response timeout) are reported to its ServerHealth, and an answer's head
// as a success. With useTls() it speaks TLS (net/tls_stream.h) and is
// otherwise the same: a failed handshake is a connect failure.
#pragma once

#include <string>

#include "base/time.h"
#include "http/response_parser.h"
#include "net/tcp_stream.h"
#include "net/tls_stream.h"
#include "net/timer.h"
#include "net/weak_ref.h"
#include "upstream/upstream_error.h"

namespace larder::upstream {

class Pool;
class ServerHealth;
class UpstreamRequest;

class UpstreamConnection : public net::TcpStream::Handler, public http::ResponseParser::Handler {
 public:
  enum class State { kConnecting, kIdle, kActive, kClosing };

  UpstreamConnection(Pool& pool, net::Loop& loop, ServerHealth& server);
  // A request still attached (the pool goes before its requests at a
  // worker's teardown) is told, so that it never reaches this connection.
  ~UpstreamConnection() override;

  // Connecting: starts the connect timeout (a name may still be resolving),
  // then connectTo() once the address is known, or failToConnect().
  void awaitAddress(base::Duration timeout);
  // Before connectTo(): TLS to `peer`. False when there is no context or
  // OpenSSL cannot set it up (logged); the caller then fails the connect.
  bool useTls(std::shared_ptr<net::TlsContext> context, net::TlsStream::Peer peer);
  void connectTo(const net::SocketAddress& address);
  void failToConnect() { fail(UpstreamError::kConnectFailed, false); }
  // The same, from the loop: for a caller that must not be re-entered.
  void failToConnectSoon();
  // Begins serving `request`; it must send its head via write().
  void attach(UpstreamRequest& request, std::string_view method);
  // The request is gone. Closes unless idle.
  void detach();
  void write(std::string bytes);
  size_t writeQueueBytes() const { return stream_.writeQueueBytes(); }
  // Response backpressure while serving a request. An idle connection
  // always reads (to see the server's close), so pausing one does nothing.
  void pauseReading() {
    if (state_ != State::kIdle) stream_.stopReading();
  }
  void resumeReading();
  void close();

  State state() const { return state_; }
  bool isReused() const { return requests_served_ > 0; }
  // Since when an idle connection has been idle.
  base::MonoTime idleSince() const { return idle_since_; }
  ServerHealth& server() const { return server_; }

 private:
  // net::TcpStream::Handler
  void onStreamRead(std::string_view data) override;
  void onStreamEnd(int status) override;
  void onStreamWritten(int status) override;
  void onStreamClosed() override;
  // http::ResponseParser::Handler
  void onResponseHead(http::ResponseHead& head) override;
  void onResponseBody(std::string_view data) override;
  void onResponseComplete() override;

  void fail(UpstreamError error, bool closed_before_answer);
  void armResponseTimer();

  Pool& pool_;
  net::Loop& loop_;
  net::TlsStream stream_;  // plain unless useTls()
  http::ResponseParser parser_;
  net::Timer timer_;
  ServerHealth& server_;  // process-wide, outlives every connection
  State state_ = State::kConnecting;
  UpstreamRequest* request_ = nullptr;
  bool response_bytes_seen_ = false;
  bool response_complete_ = false;
  bool last_head_interim_ = false;
  bool keep_alive_ = true;
  unsigned requests_served_ = 0;
  base::Duration idle_limit_{0};  // of the last answer: upstream/keep_alive.h
  base::MonoTime idle_since_{};
  net::LivenessToken liveness_;  // last member: dies first
};

}  // namespace larder::upstream
