// ClientConnection: one accepted client socket. It owns the stream, the
// request parser, the connection's timer and the current Exchange; the
// Server owns it, and destroys it once the stream's close callback has
// handed it back (L2), on a later turn.
//
// Pipelining: the parser pauses after each complete request; the next one is
// parsed only when the current exchange has queued its whole answer, so
// answers go out in order, and only while fewer than kOutputHighWater answer
// bytes wait unsent: a client that pipelines without reading holds at most
// that mark plus one answer (DESIGN invariant 12). Parsing resumes once the
// queue falls below kOutputLowWater. Unparsed bytes wait in `input_`
// (bounded by kMaxBufferedInput plus one read).
//
// Lifetime: a finished exchange is destroyed on a later turn (net::Graveyard),
// never inside its own finish(); the Server does the same with a closed
// connection.
//
// Timers: header_timeout from the first byte of a request to its complete
// head; body_timeout between body reads; idle_timeout between requests, and
// between two writes the client takes while pipelined requests wait on it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "http/request_parser.h"
#include "net/defer.h"
#include "net/tcp_stream.h"
#include "net/timer.h"
#include "proxy/close_reason.h"
#include "proxy/exchange.h"
#include "proxy/proxy_context.h"

namespace larder::proxy {

class ClientConnection : public net::TcpStream::Handler, public http::RequestParser::Handler {
 public:
  using ClosedCallback = std::function<void(ClientConnection&)>;

  ClientConnection(ProxyContext& context, ClosedCallback on_closed);
  ~ClientConnection() override;

  // Accepts from the listener and starts reading; false if accept failed.
  bool accept(uv_stream_t* server);
  // Drain: close now if idle, else after the current answer.
  void shutdown();
  // Closes at once (connection limit, abort).
  void close(CloseReason reason);

  // For the Exchange. Writes are ignored once closing.
  void write(std::string bytes);
  void write(std::vector<std::string> pieces);
  // One vectored write of `first` then `second`, both moved (an
  // initializer_list would copy them: the body is the large part).
  void write(std::string first, std::string second);
  void write(std::string first, std::string second, std::string third);
  // `head`, then `shared` sent from where it is (kept alive by `owner`).
  void write(std::string head, std::shared_ptr<const void> owner, std::string_view shared);
  size_t writeQueueBytes() const { return stream_.writeQueueBytes(); }
  const std::string& peerIp() const { return peer_ip_; }
  bool isShuttingDown() const { return shutting_down_; }
  // The exchange queued its whole answer and stopped (Exchange::finish): it
  // is destroyed on a later turn; the next pipelined request may start now.
  void onExchangeComplete(bool keep_alive);
  // The answer cannot be completed: cut the connection.
  void abort(CloseReason reason) { close(reason); }
  // The exchange's upstream took the queued request body.
  void resumeRequestBody();

 private:
  // net::TcpStream::Handler
  void onStreamRead(std::string_view data) override;
  void onStreamEnd(int status) override;
  void onStreamWritten(int status) override;
  void onStreamClosed() override;
  // http::RequestParser::Handler
  void onRequestHead(http::RequestHead& head) override;
  void onRequestBody(std::string_view data) override;
  void onRequestComplete() override;

  void processInput();
  // Lets the parser take the next pipelined request, unless the client has
  // too many answer bytes unread; false when it must wait for a drain.
  bool startNextRequest();
  void rejectRequest(http::ParseError error);
  void closeAfterFlush(CloseReason reason);
  void updateReading();
  void armTimer(base::Duration timeout, CloseReason reason);
  void onTimeout(CloseReason reason);

  static constexpr size_t kMaxBufferedInput = 64 * 1024;
  static constexpr size_t kOutputHighWater = Exchange::kClientHighWater;
  static constexpr size_t kOutputLowWater = Exchange::kClientLowWater;

  ProxyContext& context_;
  ClosedCallback on_closed_;
  config::ConfigPtr config_;  // limits and timeouts for this connection
  net::TcpStream stream_;
  http::RequestParser parser_;
  net::Timer timer_;
  std::unique_ptr<Exchange> exchange_;
  std::string input_;
  std::string peer_ip_;
  CloseReason close_reason_ = CloseReason::kNone;
  CloseReason pending_close_reason_ = CloseReason::kNone;
  bool closing_ = false;
  bool close_after_flush_ = false;
  bool shutting_down_ = false;
  bool peer_eof_ = false;
  bool processing_ = false;
  bool exchange_finished_ = false;
  bool finished_keep_alive_ = false;
  bool request_started_ = false;
  bool reading_body_ = false;
  bool body_paused_ = false;
  bool output_paused_ = false;  // next request waits for the client to read
  // Finished exchanges, until a later turn. Last: they go before the rest.
  net::Graveyard finished_;
};

}  // namespace larder::proxy
