// Pool: a worker's upstream connections (STYLE L7: the Worker owns the Pool,
// the Pool owns every UpstreamConnection, idle or busy; each connection
// points at its server's process-wide ServerHealth, which outlives it).
// Servers are chosen by smooth weighted round robin (nginx's: each server's
// `weight` is added to its running score, the highest score is chosen and
// loses the sum of the weights, so 3:1 goes a,a,b,a rather than a,a,a,b)
// among the primaries that are up (or whose probe is due;
// upstream/server_health.h), skipping those a request already tried; the
// backup servers, the same way, only when no primary is left; when every
// server is down, among all of the primaries, then of the backups. The most recently used idle keep-alive connection to the
// chosen server is reused before a new one is opened, if the request may
// take it (Reuse). At most `keepalive` idle connections are kept; each one
// is retired after its idle limit (upstream/keep_alive.h), and closed at
// once when the server closes it (an idle connection always reads). With
// upstream.health_check, each server's entry owns its HealthCheck.
// With upstream.tls, the Pool owns this worker's TlsContext, built from the
// configuration (and rebuilt when a reload changes it); connections to TLS
// servers share it, and hold it as long as they live.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "net/loop.h"
#include "net/resolver.h"
#include "net/socket_address.h"
#include "net/timer.h"
#include "net/tls_context.h"
#include "upstream/health_check.h"
#include "upstream/server_health.h"
#include "upstream/upstream_request.h"

namespace larder::upstream {

class UpstreamConnection;

class Pool {
 public:
  // Servers named by an IP address are used as they are. Names are
  // resolved through `resolver`, asynchronously: at construction, every
  // upstream.resolve_interval, and after a connect to the server fails (at
  // most once a second). Every address of a name is used, in turn; a
  // request for a name not yet resolved waits for it (within
  // connect_timeout); a failed lookup keeps the addresses of the last one.
  Pool(net::Loop& loop, const config::UpstreamConfig& config,
       net::Resolver& resolver = net::SystemResolver::instance());
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Starts a request; the caller owns the returned Pending.
  std::unique_ptr<UpstreamRequest> start(OutgoingRequest request, ResponseHandler& handler);
  // Closes idle connections (shutdown).
  void closeIdle();
  size_t openConnections() const { return connections_.size(); }
  const config::UpstreamConfig& config() const { return config_; }
  // A reload swaps servers and timeouts for requests started afterwards.
  void reconfigure(const config::UpstreamConfig& config);

  // Which idle connection a request may take.
  enum class Reuse {
    kAny,     // any idle one: the request can be resent if it turns out dead
    kRecent,  // one idle for at most kUnretryableIdleLimit (cannot be resent)
    kNone,    // a new connection (a resent request)
  };
  // For UpstreamRequest / UpstreamConnection. `tried`: servers this request
  // already failed on, avoided while another one remains.
  // `only`: that server and no other (when it is still configured).
  UpstreamConnection& acquire(Reuse reuse, const std::vector<const ServerHealth*>& tried,
                              const ServerHealth* only = nullptr);
  size_t serverCount() const { return targets_.size(); }
  void release(UpstreamConnection& connection);
  void onClosed(UpstreamConnection& connection);
  void onConnectFailed(const ServerHealth& server);
  net::Loop& loop() { return loop_; }

 private:
  struct Target {
    config::Address server;
    ServerHealth* health = nullptr;
    bool literal = false;                       // an IP address: never resolved
    std::vector<net::SocketAddress> addresses;  // empty until first resolved
    size_t next_address = 0;
    net::Resolution resolution;                 // a lookup in flight
    uint64_t resolved_at_ms = 0;
    std::vector<UpstreamConnection*> waiting;   // connections waiting for an address
    std::unique_ptr<HealthCheck> check;         // with upstream.health_check
    int64_t score = 0;                          // smooth weighted round robin
  };
  void setServers();
  void startResolving(Target& target);
  void onResolved(Target& target, int status, std::vector<net::SocketAddress> addresses);
  void connect(Target& target, UpstreamConnection& connection);
  size_t chooseServer(const std::vector<const ServerHealth*>& tried, const ServerHealth* only);
  // The highest-scoring of `candidates` (indexes into targets_), by smooth
  // weighted round robin; its score is charged.
  size_t pickWeighted(const std::vector<size_t>& candidates);
  void runHealthChecks();
  void buildTlsContext();

  net::Loop& loop_;
  config::UpstreamConfig config_;
  net::Resolver& resolver_;
  std::vector<std::unique_ptr<Target>> targets_;  // stable: lookups point at them
  net::Timer refresh_timer_;
  net::Timer check_timer_;
  size_t next_server_ = 0;
  std::unordered_map<UpstreamConnection*, std::unique_ptr<UpstreamConnection>> connections_;
  std::vector<UpstreamConnection*> idle_;  // most recently used last
  std::shared_ptr<net::TlsContext> tls_context_;  // with config_.tls; null if it failed
};

}  // namespace larder::upstream
