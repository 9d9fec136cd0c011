#include "upstream/pool.h"

#include <algorithm>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "upstream/keep_alive.h"
#include "upstream/upstream_connection.h"

namespace larder::upstream {

Pool::Pool(net::Loop& loop, const config::UpstreamConfig& config, net::Resolver& resolver)
    : loop_(loop), config_(config), resolver_(resolver), refresh_timer_(loop), check_timer_(loop) {
  buildTlsContext();
  setServers();
}

void Pool::buildTlsContext() {
  tls_context_.reset();
  if (!config_.tls) return;
  auto context = net::TlsContext::create({config_.tls->verify, config_.tls->ca_pem});
  if (!context) {
    // The loader parsed the same certificates; what fails here is the
    // environment (the system store, memory). Requests to TLS servers fail
    // as connect failures, each logged.
    LOG_ERROR("upstream TLS: {}", context.error());
    return;
  }
  tls_context_ = std::move(*context);
}

// Health checks first: their requests detach from connections still alive.
Pool::~Pool() { targets_.clear(); }

// Keeps the targets (their addresses, lookups and waiting connections) of
// servers that stay; new ones start resolving at once.
void Pool::setServers() {
  std::vector<std::unique_ptr<Target>> previous = std::move(targets_);
  targets_.clear();
  for (const auto& server : config_.servers) {
    auto kept = std::find_if(previous.begin(), previous.end(), [&](const std::unique_ptr<Target>& target) {
      return target != nullptr && target->server == server;
    });
    if (kept != previous.end()) {
      targets_.push_back(std::move(*kept));
      continue;
    }
    auto target = std::make_unique<Target>();
    target->server = server;
    target->health = &serverHealth(server.toString());
    net::SocketAddress address;
    if (server.kind != config::Address::Kind::kTcp) {
      LOG_ERROR("upstream {}: only host:port servers are supported; requests to it will fail",
                server.toString());
      target->literal = true;
      net::makeSocketAddress("0.0.0.0", 0, address);  // unconnectable
      target->addresses.push_back(address);
    } else if (net::makeSocketAddress(server.host, server.port, address)) {
      target->literal = true;
      target->addresses.push_back(address);
    }
    targets_.push_back(std::move(target));
  }
  // A validated configuration names a server; without one, fail like an
  // unreachable server rather than index an empty list.
  if (targets_.empty()) {
    auto target = std::make_unique<Target>();
    target->health = &serverHealth("0.0.0.0:0");
    target->literal = true;
    target->addresses.emplace_back();
    targets_.push_back(std::move(target));
  }
  for (auto& target : targets_) {
    if (!config_.health_check) {
      target->check.reset();
    } else if (!target->check) {
      std::string host = config_.host.value_or(target->server.toString());
      target->check = std::make_unique<HealthCheck>(*this, loop_, *target->health, std::move(host));
    }
  }
  check_timer_.stop();
  if (config_.health_check) {
    check_timer_.startRepeating(config_.health_check->interval, [this] { runHealthChecks(); });
    check_timer_.unref();
  }
  bool any_name = false;
  for (auto& target : targets_) {
    if (target->literal) continue;
    any_name = true;
    if (target->addresses.empty()) startResolving(*target);
  }
  refresh_timer_.stop();
  if (any_name) {
    refresh_timer_.startRepeating(config_.resolve_interval, [this] {
      for (auto& target : targets_)
        if (!target->literal) startResolving(*target);
    });
    refresh_timer_.unref();
  }
}

void Pool::startResolving(Target& target) {
  if (target.resolution.isPending()) return;
  target.resolution = resolver_.resolve(
      loop_, target.server.host, target.server.port,
      [this, &target](int status, std::vector<net::SocketAddress> addresses) {
        onResolved(target, status, std::move(addresses));
      });
  // Could not even start: waiting connections meet their connect timeout,
  // and the next refresh or connect failure tries again.
  if (!target.resolution.isPending()) LOG_WARN("upstream {}: cannot start resolving", target.server.toString());
}

void Pool::onResolved(Target& target, int status, std::vector<net::SocketAddress> addresses) {
  target.resolved_at_ms = base::monoMillis();
  if (status != 0) {
    LOG_WARN("upstream {}: cannot resolve ({}){}", target.server.toString(), uv_strerror(status),
             target.addresses.empty() ? "" : "; keeping the addresses it had");
  } else {
    auto ips = [](const std::vector<net::SocketAddress>& list) {
      std::string text;
      for (const auto& address : list) {
        if (!text.empty()) text += ' ';
        text += address.ip();
      }
      return text;
    };
    if (ips(addresses) != ips(target.addresses)) {
      LOG_INFO("upstream {}: resolved to {}", target.server.toString(), ips(addresses));
      target.addresses = std::move(addresses);
    }
  }
  std::vector<UpstreamConnection*> waiting = std::move(target.waiting);
  target.waiting.clear();
  for (UpstreamConnection* connection : waiting) {
    if (connection->state() != UpstreamConnection::State::kConnecting) continue;
    if (target.addresses.empty()) {
      connection->failToConnect();
    } else {
      connection->connectTo(target.addresses[target.next_address++ % target.addresses.size()]);
    }
  }
}

void Pool::connect(Target& target, UpstreamConnection& connection) {
  connection.awaitAddress(config_.connect_timeout);
  if (target.server.tls) {
    // SNI and the name checked: tls.server_name, else the server's host
    // as configured (never the address it resolved to).
    net::TlsStream::Peer peer;
    peer.server_name = config_.tls && !config_.tls->server_name.empty() ? config_.tls->server_name
                                                                         : target.server.host;
    peer.session_key = peer.server_name + "@" + target.server.toString();
    if (!connection.useTls(tls_context_, std::move(peer))) {
      connection.failToConnectSoon();
      return;
    }
  }
  if (target.addresses.empty()) {
    target.waiting.push_back(&connection);
    startResolving(target);
    return;
  }
  connection.connectTo(target.addresses[target.next_address++ % target.addresses.size()]);
}

void Pool::onConnectFailed(const ServerHealth& server) {
  // The name may point elsewhere now (a restarted container): look again,
  // at most once a second.
  for (auto& target : targets_) {
    if (target->health != &server || target->literal) continue;
    if (base::monoMillis() - target->resolved_at_ms >= 1000) startResolving(*target);
  }
}

void Pool::reconfigure(const config::UpstreamConfig& config) {
  bool servers_changed = !(config.servers == config_.servers);
  // Idle connections were verified under the old trust settings.
  bool tls_changed = !(config.tls == config_.tls);
  config_ = config;
  if (tls_changed) buildTlsContext();
  setServers();  // also restarts the refresh timer at the new interval
  if (servers_changed || tls_changed) closeIdle();
}

std::unique_ptr<UpstreamRequest> Pool::start(OutgoingRequest request, ResponseHandler& handler) {
  auto pending = std::make_unique<UpstreamRequest>(*this, std::move(request), handler);
  pending->start();
  return pending;
}

void Pool::runHealthChecks() {
  const uint64_t now = base::monoMillis();
  for (auto& target : targets_) {
    if (target->check && !target->check->isRunning() &&
        target->health->claimCheck(now, config_.health_check->interval))
      target->check->run(*config_.health_check);
  }
}

size_t Pool::pickWeighted(const std::vector<size_t>& candidates) {
  int64_t total = 0;
  size_t best = candidates.front();
  for (size_t i : candidates) {
    Target& target = *targets_[i];
    const auto weight = static_cast<int64_t>(std::max(1u, target.server.weight));
    target.score += weight;
    total += weight;
    if (target.score > targets_[best]->score) best = i;
  }
  targets_[best]->score -= total;
  return best;
}

size_t Pool::chooseServer(const std::vector<const ServerHealth*>& tried, const ServerHealth* only) {
  const size_t n = targets_.size();
  for (size_t i = 0; only != nullptr && i < n; ++i)
    if (targets_[i]->health == only) return i;
  auto wasTried = [&](size_t i) {
    return std::find(tried.begin(), tried.end(), targets_[i]->health) != tried.end();
  };
  const uint64_t now = base::monoMillis();
  std::vector<size_t> candidates;
  candidates.reserve(n);
  // Primaries, then backups: untried servers that are up or due a probe.
  for (const bool backup : {false, true}) {
    candidates.clear();
    for (size_t i = 0; i < n; ++i) {
      if (targets_[i]->server.backup == backup && !wasTried(i) &&
          targets_[i]->health->peek(now) != ServerHealth::Admission::kDown)
        candidates.push_back(i);
    }
    while (!candidates.empty()) {
      const size_t i = pickWeighted(candidates);
      // admit() takes the probe slot; another worker may have taken it.
      if (targets_[i]->health->admit(now, config_.passive_health) != ServerHealth::Admission::kDown)
        return i;
      candidates.erase(std::find(candidates.begin(), candidates.end(), i));
    }
  }
  // Every untried server is down: try one anyway rather than fail unasked.
  for (const bool backup : {false, true}) {
    candidates.clear();
    for (size_t i = 0; i < n; ++i)
      if (targets_[i]->server.backup == backup && !wasTried(i)) candidates.push_back(i);
    if (!candidates.empty()) return pickWeighted(candidates);
  }
  return next_server_ % n;
}

UpstreamConnection& Pool::acquire(Reuse reuse, const std::vector<const ServerHealth*>& tried,
                                  const ServerHealth* only) {
  const size_t index = chooseServer(tried, only);
  if (only == nullptr) next_server_ = index + 1;
  ServerHealth& server = *targets_[index]->health;
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
  connect(*targets_[index], ref);
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
  for (auto& target : targets_) {
    auto& waiting = target->waiting;
    waiting.erase(std::remove(waiting.begin(), waiting.end(), &connection), waiting.end());
  }
  connections_.erase(&connection);  // destroys it: we are in its close callback
}

}  // namespace larder::upstream
