#include "proxy/server.h"

#include "base/log.h"

namespace larder::proxy {

Server::Server(ProxyContext& context) : context_(context), listener_(context.loop), closed_(context.loop) {}

Server::~Server() = default;

std::string Server::listen(const net::SocketAddress& address, bool reuse_port) {
  return listener_.listen(address, reuse_port, 511, [this] { onConnection(); });
}

void Server::onConnection() {
  auto connection = std::make_unique<ClientConnection>(
      context_, [this](ClientConnection& closed) { onClosed(closed); });
  ClientConnection& ref = *connection;
  connections_.emplace(&ref, std::move(connection));
  if (!ref.accept(listener_.stream())) return;
  // Over the limit: accepted and closed at once, so the backlog does not
  // fill with connections nobody will serve.
  if (connections_.size() > context_.config->server.max_connections || shutting_down_) {
    LOG_WARN("connection limit {} reached; closing new connection",
             context_.config->server.max_connections);
    ref.close(CloseReason::kConnectionLimit);
  }
}

void Server::onClosed(ClientConnection& connection) {
  auto found = connections_.find(&connection);
  if (found == connections_.end()) return;
  closed_.bury(std::move(found->second));
  connections_.erase(found);
  if (shutting_down_ && connections_.empty() && on_drained_) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    callback();
  }
}

void Server::shutdown(std::function<void()> on_drained) {
  shutting_down_ = true;
  on_drained_ = std::move(on_drained);
  listener_.close();
  if (connections_.empty()) {
    auto callback = std::move(on_drained_);
    on_drained_ = nullptr;
    if (callback) callback();
    return;
  }
  // Copy: shutdown() may close connections, which erase themselves later.
  std::vector<ClientConnection*> open;
  for (auto& [pointer, owned] : connections_) open.push_back(pointer);
  for (ClientConnection* connection : open) connection->shutdown();
}

void Server::closeAll() {
  std::vector<ClientConnection*> open;
  for (auto& [pointer, owned] : connections_) open.push_back(pointer);
  for (ClientConnection* connection : open) connection->close(CloseReason::kShutdown);
}

}  // namespace larder::proxy
