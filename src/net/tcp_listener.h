// TcpListener: a listening socket on a loop. Each worker binds its own
// socket with SO_REUSEPORT so the kernel spreads connections across workers
// (libuv 1.44 has no UV_TCP_REUSEPORT, so the socket is made by hand and
// handed to libuv with uv_tcp_open).
#pragma once

#include <functional>
#include <string>

#include "net/loop.h"
#include "net/socket_address.h"
#include "net/uv_handle.h"

namespace larder::net {

class TcpListener {
 public:
  explicit TcpListener(Loop& loop);
  // Binds and listens. Returns an error message, empty on success.
  // `on_connection` fires once per pending connection; the callee accepts it
  // with TcpStream::accept(listener.stream()) (or must still accept and close).
  std::string listen(const SocketAddress& address, bool reuse_port, int backlog,
                     std::function<void()> on_connection);
  uv_stream_t* stream() { return handle_.stream(); }
  // Stops accepting: closes the listening socket.
  void close() { handle_.close(); }
  bool isListening() const { return handle_.isOpen() && listening_; }

 private:
  UvHandle<uv_tcp_t> handle_;
  std::function<void()> on_connection_;
  bool listening_ = false;
};

}  // namespace larder::net
