#include "admin/admin_server.h"

#include <fmt/format.h>

#include <unordered_map>

#include "admin/admin_connection.h"
#include "base/log.h"
#include "net/defer.h"
#include "net/socket_address.h"
#include "net/tcp_listener.h"

namespace larder::admin {

// Member order is destruction order in reverse: connections (and their
// Pendings) go before the api and the store, the loop last.
struct AdminServer::State {
  State(config::ConfigPtr config, const StoreFactory& make_store,
        PurgeReach reach, const Readiness& readiness)
      : queue(loop),
        store(make_store(loop, *config)),
        api(config, *store, reach, readiness),
        listener(loop),
        closed(loop) {}

  void onConnection() {
    auto connection = std::make_unique<AdminConnection>(
        loop, api, [this](AdminConnection& connection) { onClosed(connection); });
    AdminConnection& ref = *connection;
    connections.emplace(&ref, std::move(connection));
    ref.accept(listener.stream());
  }

  // From inside the connection's close callback: destroyed on a later turn.
  void onClosed(AdminConnection& connection) {
    auto found = connections.find(&connection);
    if (found == connections.end()) return;
    closed.bury(std::move(found->second));
    connections.erase(found);
  }

  void shutdown() {
    listener.close();
    std::vector<AdminConnection*> open;
    for (auto& [pointer, owned] : connections) open.push_back(pointer);
    for (AdminConnection* connection : open) connection->close();
    queue.unref();
    // The store's reconnect and probe timers would keep the loop alive.
    loop.stop();
  }

  net::Loop loop;
  net::CrossThreadQueue queue;
  std::unique_ptr<cache::Store> store;
  AdminApi api;
  net::TcpListener listener;
  std::unordered_map<AdminConnection*, std::unique_ptr<AdminConnection>> connections;
  net::Graveyard closed;  // closed connections, until a later turn
};

AdminServer::AdminServer(config::ConfigPtr config, StoreFactory make_store,
                         PurgeReach reach)
    : initial_config_(std::move(config)), make_store_(std::move(make_store)), reach_(reach) {}

AdminServer::~AdminServer() { stop(); }

std::string AdminServer::start() {
  if (!initial_config_->admin.listen || thread_.joinable()) return "";
  std::promise<std::string> started;
  auto result = started.get_future();
  thread_ = std::thread([this, started = std::move(started)]() mutable { run(std::move(started)); });
  std::string error = result.get();
  if (!error.empty() && thread_.joinable()) thread_.join();
  return error;
}

void AdminServer::run(std::promise<std::string> started) {
  auto state = std::make_unique<State>(initial_config_, make_store_, reach_, readiness_);
  state->api.setExplainDeps(explain_deps_);
  const config::Address& listen = *initial_config_->admin.listen;
  net::SocketAddress address;
  std::string error;
  if (listen.kind != config::Address::Kind::kTcp) {
    error = "the admin listener does not support unix sockets yet";
  } else if (!net::makeSocketAddress(listen.host, listen.port, address)) {
    error = fmt::format("admin.listen {} is not a literal IP address", listen.toString());
  } else {
    State* raw = state.get();
    error = state->listener.listen(address, /*reuse_port=*/false, 64, [raw] { raw->onConnection(); });
  }
  if (!error.empty()) {
    state.reset();
    started.set_value(error);
    return;
  }
  state_ = std::move(state);
  started.set_value("");
  state_->loop.run();
  state_.reset();
}

void AdminServer::reconfigure(config::ConfigPtr config) {
  if (!state_) return;
  State* state = state_.get();
  if (!(config->admin.listen == initial_config_->admin.listen))
    LOG_WARN("admin.listen changes need a restart; the admin listener stays where it is");
  state->queue.post([state, config = std::move(config)] { state->api.setConfig(config); });
}

void AdminServer::stop() {
  if (!thread_.joinable()) return;
  if (state_) {
    State* state = state_.get();
    state->queue.post([state] { state->shutdown(); });
  }
  thread_.join();
}

}  // namespace larder::admin
