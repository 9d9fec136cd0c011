// TcpStream: one TCP connection on a loop, used by client and upstream
// connections alike.
//
// Lifetime (STYLE L2, L3): close() is idempotent and deferred; the handler's
// onStreamClosed() runs from the close callback, after every cancelled write
// callback, and is the only place the owner may destroy the stream. If the
// stream is destroyed without close() (loop teardown), no callback runs.
//
// Writes: write() takes ownership of its buffers until libuv is done with
// them. writeQueueBytes() reports bytes accepted but not yet on the wire, for
// backpressure; onStreamWritten() fires whenever a queued write completes.
// With writeDirectly(true), what the socket takes at once is written inside
// write() and never queued, so no onStreamWritten() follows for it: only for
// owners that need the callback only while bytes are queued.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/loop.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"

namespace larder::net {

class TcpStream {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Bytes read; valid only during the call.
    virtual void onStreamRead(std::string_view data) = 0;
    // The peer closed its side (UV_EOF) or a read error occurred (status < 0).
    virtual void onStreamEnd(int status) = 0;
    // A write completed (status 0) or failed (status < 0).
    virtual void onStreamWritten(int status) = 0;
    // Closed: the owner may now destroy the stream.
    virtual void onStreamClosed() = 0;
  };

  TcpStream(Loop& loop, Handler& handler);
  ~TcpStream();
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;

  // Accepts a pending connection from `server`; returns a libuv status.
  int accept(uv_stream_t* server);
  // Starts connecting; `on_connected(status)` fires once (unless closed first,
  // in which case it fires with UV_ECANCELED before onStreamClosed()).
  int connect(const SocketAddress& address, std::function<void(int)> on_connected);

  void startReading();
  void stopReading();
  bool isReading() const { return reading_; }

  // Queues bytes for writing. Returns false if the stream is closing.
  bool write(std::string data);
  // One vectored write of several buffers.
  bool write(std::vector<std::string> pieces);
  bool write(std::string first, std::string second);
  // One vectored write of `head` then `shared`, bytes that `owner` keeps
  // alive (and nobody changes) until libuv is done with them: sent from
  // where they are, never copied.
  bool write(std::string head, std::shared_ptr<const void> owner, std::string_view shared);
  size_t writeQueueBytes() const { return queued_bytes_; }
  void writeDirectly(bool enabled) { write_directly_ = enabled; }

  void close();
  bool isClosing() const { return closing_; }
  // "ip" of the peer, for X-Forwarded-For and logs.
  std::string peerIp() const;
  void setNoDelay(bool enabled) { uv_tcp_nodelay(raw_, enabled ? 1 : 0); }
  Loop& loop() { return loop_; }

 private:
  struct WriteRequest;
  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onClosed(uv_handle_t* handle);
  // `shared` (kept alive by *owner, taken only if queued) goes after the pieces.
  bool writePieces(std::string* pieces, size_t count, std::shared_ptr<const void>* owner = nullptr,
                   std::string_view shared = {});

  Loop& loop_;
  Handler& handler_;
  UvHandle<uv_tcp_t> handle_;
  uv_tcp_t* raw_;  // valid until the close callback, unlike handle_.get()
  std::unique_ptr<uv_connect_t> connect_req_;
  std::function<void(int)> on_connected_;
  size_t queued_bytes_ = 0;
  bool reading_ = false;
  bool write_directly_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

}  // namespace larder::net
