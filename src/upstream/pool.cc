#include "upstream/pool.h"

#include <netdb.h>

#include <algorithm>
#include <cstring>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "upstream/keep_alive.h"
#include "upstream/upstream_connection.h"

namespace larder::upstream {
namespace {

// Literal addresses resolve without I/O; names go through getaddrinfo once,
// at start-up or reload, never on the request path.
bool resolve(const config::Address& server, net::SocketAddress& out) {
  if (net::makeSocketAddress(server.host, server.port, out)) return true;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(server.host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr)
    return false;
  out = net::SocketAddress{};
  std::memcpy(&out.storage, result->ai_addr, result->ai_addrlen);
  if (out.family() == AF_INET)
    reinterpret_cast<sockaddr_in*>(&out.storage)->sin_port = htons(server.port);
  else
    reinterpret_cast<sockaddr_in6*>(&out.storage)->sin6_port = htons(server.port);
  freeaddrinfo(result);
  return true;
}

}  // namespace

Pool::Pool(net::Loop& loop, const config::UpstreamConfig& config) : loop_(loop), config_(config) {
  resolveServers();
}

Pool::~Pool() = default;

void Pool::resolveServers() {
  targets_.clear();
  for (const auto& server : config_.servers) {
    net::SocketAddress address;
    if (server.kind != config::Address::Kind::kTcp || !resolve(server, address)) {
      LOG_ERROR("upstream {}: cannot resolve; requests to it will fail", server.toString());
      // Keep an unconnectable placeholder so round robin stays aligned.
      net::makeSocketAddress("0.0.0.0", 0, address);
    }
    targets_.push_back(Target{address, &serverHealth(server.toString())});
  }
  // A validated configuration names a server; without one, fail like an
  // unreachable server rather than index an empty list.
  if (targets_.empty()) targets_.push_back(Target{net::SocketAddress{}, &serverHealth("0.0.0.0:0")});
}

void Pool::reconfigure(const config::UpstreamConfig& config) {
  bool servers_changed = !(config.servers == config_.servers);
  config_ = config;
  if (servers_changed) {
    resolveServers();
    closeIdle();
  }
}

std::unique_ptr<UpstreamRequest> Pool::start(OutgoingRequest request, ResponseHandler& handler) {
  auto pending = std::make_unique<UpstreamRequest>(*this, std::move(request), handler);
  pending->start();
  return pending;
}

size_t Pool::chooseServer(const std::vector<const ServerHealth*>& tried) {
  const size_t n = targets_.size();
  auto wasTried = [&](size_t i) {
    return std::find(tried.begin(), tried.end(), targets_[i].health) != tried.end();
  };
  const uint64_t now = base::monoMillis();
  for (size_t k = 0; k < n; ++k) {
    size_t i = (next_server_ + k) % n;
    if (!wasTried(i) && targets_[i].health->admit(now, config_.passive_health) !=
                            ServerHealth::Admission::kDown)
      return i;
  }
  // Every untried server is down: try one anyway rather than fail unasked.
  for (size_t k = 0; k < n; ++k) {
    size_t i = (next_server_ + k) % n;
    if (!wasTried(i)) return i;
  }
  return next_server_ % n;
}

UpstreamConnection& Pool::acquire(Reuse reuse, const std::vector<const ServerHealth*>& tried) {
  const size_t index = chooseServer(tried);
  next_server_ = index + 1;
  ServerHealth& server = *targets_[index].health;
  base::metrics::upstream_server_requests.add(server.metricIndex(), 1);
  if (reuse != Reuse::kNone) {
    const base::MonoTime now = base::MonoClock::now();
    for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
      UpstreamConnection* connection = *it;
      if (&connection->server() != &server || connection->state() != UpstreamConnection::State::kIdle)
        continue;
      // idle_ is in release order: older ones have been idle longer still.
      if (reuse == Reuse::kRecent && now - connection->idleSince() > kUnretryableIdleLimit) break;
      idle_.erase(std::next(it).base());
      return *connection;
    }
  }
  auto connection = std::make_unique<UpstreamConnection>(*this, loop_, server);
  UpstreamConnection& ref = *connection;
  connections_.emplace(&ref, std::move(connection));
  ref.connect(targets_[index].address, config_.connect_timeout);
  return ref;
}

void Pool::release(UpstreamConnection& connection) {
  idle_.push_back(&connection);
  if (idle_.size() > config_.keepalive) {
    UpstreamConnection* oldest = idle_.front();
    idle_.erase(idle_.begin());
    oldest->close();
  }
}

void Pool::closeIdle() {
  auto idle = std::move(idle_);
  idle_.clear();
  for (UpstreamConnection* connection : idle) connection->close();
}

void Pool::onClosed(UpstreamConnection& connection) {
  idle_.erase(std::remove(idle_.begin(), idle_.end(), &connection), idle_.end());
  connections_.erase(&connection);  // destroys it: we are in its close callback
}

}  // namespace larder::upstream
