// Server: a worker's public listener and the ClientConnections it accepted
// (STYLE L7: the listener side owns the connections; each owns its Exchange).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "net/defer.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"
#include "proxy/client_connection.h"
#include "proxy/proxy_context.h"

namespace larder::proxy {

class Server {
 public:
  explicit Server(ProxyContext& context);
  ~Server();

  // Returns an error message, empty on success.
  std::string listen(const net::SocketAddress& address, bool reuse_port);
  // Graceful stop: no new connections; idle ones close now, busy ones after
  // their current answer. `on_drained` fires once no connection is left.
  void shutdown(std::function<void()> on_drained);
  // Closes every connection at once (drain timeout).
  void closeAll();
  size_t connectionCount() const { return connections_.size(); }

 private:
  void onConnection();
  void onClosed(ClientConnection& connection);

  ProxyContext& context_;
  net::TcpListener listener_;
  std::unordered_map<ClientConnection*, std::unique_ptr<ClientConnection>> connections_;
  // Closed connections, until a later turn: each is let go of from inside
  // its own close callback.
  net::Graveyard closed_;
  std::function<void()> on_drained_;
  bool shutting_down_ = false;
};

}  // namespace larder::proxy
