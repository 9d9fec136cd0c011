// The configuration model: immutable, validated values built by the loader
// from YAML. A Config is shared as shared_ptr<const Config>; each request takes
// a snapshot at its start, so a reload never changes a request halfway.
// Defaults here are the documented defaults of conf/larder.yaml.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/time.h"
#include "config/route_pattern.h"

namespace larder::config {

using namespace std::chrono_literals;
using base::Duration;

// A listen or connect address: host:port, [v6]:port, or unix:/path.
struct Address {
  enum class Kind { kTcp, kUnix };
  Kind kind = Kind::kTcp;
  std::string host;  // literal IP or name, without brackets
  uint16_t port = 0;
  std::string path;  // unix socket path
  std::string toString() const;
  friend bool operator==(const Address&, const Address&) = default;
};

struct ServerConfig {
  Address listen{Address::Kind::kTcp, "0.0.0.0", 8080, ""};
  unsigned workers = 0;                // 0 = one per core ("auto")
  unsigned max_connections = 10000;    // per worker
  Duration header_timeout = 10s;       // whole request head must arrive within it
  Duration body_timeout = 30s;         // max gap between two body reads
  Duration idle_timeout = 60s;         // idle keep-alive connection
  Duration drain_timeout = 30s;        // SIGTERM: in-flight requests get this long
  uint64_t max_header_size = 16 * 1024;
  uint64_t max_body_size = 1024ull * 1024 * 1024;  // request bodies; 0 = unlimited
};

struct UpstreamConfig {
  std::vector<Address> servers;
  Duration connect_timeout = 1s;
  Duration response_timeout = 30s;     // until the response head, and between body reads
  Duration idle_timeout = 60s;         // keep-alive connection in the pool
  unsigned keepalive = 64;             // idle connections kept per worker
  std::optional<std::string> host;     // overrides the Host header sent upstream
};

struct RedisConfig {
  Address address;                     // from url: redis://host:port/db or unix:///path
  unsigned database = 0;
  std::string username;                // empty: AUTH with password only
  std::string password;                // loaded from password_file or password_env
  Duration timeout = 25ms;             // per command
  unsigned connections = 4;            // per worker
  unsigned max_in_flight = 32;         // per connection: commands sent, not answered yet
  uint64_t max_in_flight_bytes = 256 * 1024;  // per connection: expected reply bytes in flight
  unsigned max_queued = 1024;          // per worker: commands waiting inside larder
  unsigned breaker_failures = 5;       // consecutive failures that open the breaker
  Duration breaker_cooldown = 1s;      // open breaker: time before a probe
};

enum class StoreFailureMode { kBypass, kReject };

struct StoreConfig {
  std::optional<RedisConfig> redis;    // none: the memory store serves alone
  uint64_t memory_max_size = 64ull * 1024 * 1024;
  StoreFailureMode on_failure = StoreFailureMode::kBypass;
};

// The fleet-wide fill lock (cache/fill_lock.h); needs store.redis.
struct DistributedLockConfig {
  bool enabled = false;
  Duration ttl = 10s;                  // how long a lock outlives an owner that died
};

// Namespaces from the application (cache/surrogate_keys.h): a response
// field naming namespaces that tag a stored answer, or that a write's answer
// invalidates.
struct SurrogateKeyConfig {
  bool enabled = true;
  std::string header = "Surrogate-Key";
  bool strip = true;                   // removed before the answer reaches the client
};

struct CacheConfig {
  std::string key_prefix = "v1";
  uint64_t max_object_size = 1024 * 1024;
  Duration stale_while_revalidate = 0s;
  Duration stale_if_error = 0s;
  Duration lock_timeout = 5s;
  std::string status_header = "X-Cache";
  // The in-process tier of the routes with memory_ttl, per process.
  uint64_t memory_tier_size = 64ull * 1024 * 1024;
  DistributedLockConfig distributed_lock;
  SurrogateKeyConfig surrogate_keys;
};

// Which query parameters take part in the key. Patterns may end in '*'.
struct QueryPolicy {
  enum class Mode { kAll, kKeepOnly, kIgnore };
  Mode mode = Mode::kAll;
  std::vector<std::string> patterns;
  bool keeps(std::string_view name) const;
};

// Where the principal of a per-user route comes from.
struct PrincipalSource {
  enum class Kind { kHeader, kCookie, kJwtClaim };
  Kind kind = Kind::kHeader;
  std::string name;   // header or cookie name; for kJwtClaim, the header (default Authorization)
  std::string claim;  // kJwtClaim only, e.g. "sub"
};

struct Route {
  std::string match_text;              // as written, for logs
  std::vector<std::string> methods;    // upper case
  RoutePattern pattern;
  int line = 0;                        // 1-based YAML line, for diagnostics

  // Read routes (GET/HEAD): nothing is cached without a ttl.
  std::optional<Duration> ttl;         // fixed TTL
  bool ttl_from_upstream = false;      // "ttl: upstream": RFC 9111 freshness
  std::optional<Duration> max_ttl;     // caps either
  std::vector<Template> namespaces;
  std::vector<std::string> vary;       // lower-case request header names in the key
  QueryPolicy query;
  std::optional<PrincipalSource> per_user;
  std::vector<int> statuses{200};
  bool ignore_upstream_cache_control = false;
  // A client's Cache-Control: no-cache / max-age=0 or Pragma: no-cache:
  // ignored by default (as nginx and Varnish do); honoured, it revalidates.
  bool honour_client_no_cache = false;
  std::optional<Duration> stale_while_revalidate;  // overrides cache.*
  std::optional<Duration> stale_if_error;
  // Opts into the in-process tier: how long a copy may answer without the
  // store, and so the longest it can lag another instance's write if an
  // invalidation message is lost.
  std::optional<Duration> memory_ttl;

  // Write routes: namespaces a non-error answer invalidates.
  std::vector<Template> invalidates;

  bool isRead() const { return ttl.has_value() || ttl_from_upstream; }
  bool matchesMethod(std::string_view method) const;
};

struct LogConfig {
  base::LogLevel level = base::LogLevel::kInfo;
  std::string error_log;               // empty: stderr
  std::string access_log;              // empty: stdout; "off": none
};

struct AdminConfig {
  std::optional<Address> listen{Address{Address::Kind::kTcp, "127.0.0.1", 9091, ""}};
  std::string token;                   // loaded from token_file; empty: no token
};

struct Config {
  std::string source_path;
  ServerConfig server;
  UpstreamConfig upstream;
  StoreConfig store;
  CacheConfig cache;
  std::vector<Route> routes;
  LogConfig log;
  AdminConfig admin;

  // First route whose methods and pattern match; fills `params`.
  const Route* matchRoute(std::string_view method, std::string_view path, Params& params) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace larder::config
