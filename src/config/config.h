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
  bool tls = false;  // upstream servers only: https://host[:port], or upstream.tls
  // Upstream servers only ({url, weight, backup}): a share of the requests
  // among the healthy primaries (smooth weighted round robin), and whether it
  // only serves once every primary is down (upstream/pool.h).
  unsigned weight = 1;
  bool backup = false;
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

// Which request fields never reach the upstream unless a route keys on them
// (http/override_fields.h, DESIGN invariant 11): the default list, plus
// `strip`, minus `forward`.
struct RequestHeaderConfig {
  std::vector<std::string> strip;      // lower-case names added to the default list
  std::vector<std::string> forward;    // lower-case names taken off it (or names with '_')
  // True when `name` is removed before forwarding, unless a route keys on it.
  bool strips(std::string_view name) const;
};

// Passive health (upstream/server_health.h): this many consecutive failed
// attempts (connect failures and timeouts, response timeouts) mark a server
// down for `cooldown`; then one request probes it. failures 0: never down.
struct PassiveHealthConfig {
  unsigned failures = 3;
  Duration cooldown = 5s;
  friend bool operator==(const PassiveHealthConfig&, const PassiveHealthConfig&) = default;
};

// Active checks (upstream/health_check.h): every `interval` each server is
// asked GET `path`; an answer other than `expect` (a status, or a class
// such as 2xx: expect_class), or none within `timeout`, marks it down; an
// expected answer marks it up.
struct HealthCheckConfig {
  std::string path = "/";
  Duration interval = 5s;
  Duration timeout = 1s;
  int expect = 200;                    // 0 when expect_class is set
  int expect_class = 0;                // 2 for "2xx"
  bool matches(int status) const { return expect_class != 0 ? status / 100 == expect_class : status == expect; }
  friend bool operator==(const HealthCheckConfig&, const HealthCheckConfig&) = default;
};

// TLS to upstream servers (net/tls_context.h): SNI and a verified
// certificate for the server's host name (or `server_name`), against the
// system store plus `ca_file`. verify: false is an explicit opt-out.
struct UpstreamTlsConfig {
  bool verify = true;                  // false: no certificate or name check
  std::string ca_file;                 // "" = the system store only
  std::string ca_pem;                  // ca_file's certificates, read at load
  std::string server_name;             // "" = each server's host (SNI unless an IP)
  friend bool operator==(const UpstreamTlsConfig&, const UpstreamTlsConfig&) = default;
};

struct UpstreamConfig {
  std::vector<Address> servers;
  Duration connect_timeout = 1s;
  Duration response_timeout = 30s;     // until the response head, and between body reads
  // An idle pooled connection is closed after this: below the keep-alive
  // timeouts of common app servers (gunicorn 2s, uvicorn and Node 5s), so
  // larder, not the server, closes it (upstream/keep_alive.h).
  Duration idle_timeout = 1s;
  unsigned keepalive = 64;             // idle connections kept per worker
  std::optional<std::string> host;     // overrides the Host header sent upstream
  PassiveHealthConfig passive_health;
  Duration resolve_interval = 10s;     // servers named by a DNS name are looked up again
  std::optional<HealthCheckConfig> health_check;  // none: passive health only
  // Set when any server uses TLS (an https:// server or upstream.tls).
  std::optional<UpstreamTlsConfig> tls;
};

// Redis Sentinel (issue 16): the master is found and followed through these.
struct SentinelConfig {
  std::string master_name;
  std::vector<Address> sentinels;      // host:port each
  std::string password;                // for the sentinels, from password_file
};

// Redis Cluster (issue 16, item 2): the slot map is read from these seeds.
struct ClusterConfig {
  std::vector<Address> nodes;          // host:port each (names allowed)
};

struct RedisConfig {
  Address address;                     // from url: redis://host:port/db or unix:///path
  std::optional<SentinelConfig> sentinel;  // set: the master comes from Sentinel, not `address`
  std::optional<ClusterConfig> cluster;    // set: a Redis Cluster; no url, no sentinel
  unsigned database = 0;
  std::string username;                // empty: AUTH with password only
  std::string password;                // loaded from password_file or password_env
  Duration timeout = 25ms;             // per command
  unsigned connections = 4;            // per worker
  unsigned max_in_flight = 32;         // per connection: commands sent, not answered yet
  uint64_t max_in_flight_bytes = 256 * 1024;  // per connection: expected reply bytes in flight
  unsigned max_queued = 1024;          // per worker: commands waiting inside larder
  // Copies of large entries kept per worker, asked after by tag instead of
  // read again (store/redis/local_copies.h); size 0: off.
  uint64_t local_copies_size = 32ull * 1024 * 1024;
  uint64_t local_copies_min_size = 16 * 1024;
  unsigned breaker_failures = 5;       // consecutive failures that open the breaker
  Duration breaker_cooldown = 1s;      // open breaker: time before a probe
  // write_consistency (issue 16): how long a write's answer waits for its
  // invalidation to reach Redis; past it (or at once with 0) the answer goes
  // out with `Larder-Invalidation: pending` and the backlog retries.
  Duration wait_for_invalidation = 0ms;
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

// Stored entries in a content coding (cache.compression): answers whose
// type matches `types`, of at least `min_size` bytes and not already coded,
// are stored compressed with `algorithm`.
struct CompressionConfig {
  enum class Algorithm { kOff, kGzip, kZstd };
  // Off unless configured: hits for clients that send no Accept-Encoding
  // would pay a decode each (README, "Compressed entries").
  Algorithm algorithm = Algorithm::kOff;
  uint64_t min_size = 1024;
  // Library levels: gzip 1..12 (libdeflate), zstd 1..19.
  int level = 6;
  // Lower-case media types; "text/*" matches a whole top-level type.
  std::vector<std::string> types{"application/json", "application/problem+json", "application/xml",
                                 "application/javascript", "image/svg+xml", "text/*"};
};

struct CacheConfig {
  std::string key_prefix = "v1";
  uint64_t max_object_size = 1024 * 1024;
  Duration stale_while_revalidate = 0s;
  Duration stale_if_error = 0s;
  Duration lock_timeout = 5s;
  std::string status_header = "X-Cache";  // empty ("off"): not sent
  // The cache's name in Cache-Status (RFC 9211); empty ("off"): not sent.
  std::string cache_status = "larder";
  // The in-process tier of the routes with memory_ttl, per process.
  uint64_t memory_tier_size = 64ull * 1024 * 1024;
  DistributedLockConfig distributed_lock;
  SurrogateKeyConfig surrogate_keys;
  // Targeted cache-control fields (RFC 9213), in precedence order: the first
  // one an answer carries with a valid value replaces its Cache-Control and
  // Expires for larder's decisions. Empty: none is read.
  std::vector<std::string> targeted_cache_control{"Larder-Cache-Control", "CDN-Cache-Control"};
  CompressionConfig compression;
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
  // `name:`, or the match text ("GET /products/{id}"): the route label of
  // the metrics and the access log. Unique across the routes.
  std::string name;
  // Its series in the route-labelled metrics (base/route_metrics.h),
  // resolved when the configuration is loaded.
  uint32_t metric_slot = 1;            // base::RouteLabels::kOther
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
  // Statuses that may be stored. Unset: 200 on fixed-TTL routes; on
  // `ttl: upstream` routes any final status with explicit freshness, and the
  // heuristically cacheable ones (RFC 9110 §15.1) with heuristic freshness.
  std::optional<std::vector<int>> statuses;
  // `ttl: upstream` only: the fraction of (Date - Last-Modified) used as
  // heuristic freshness (RFC 9111 §4.2.2); nullopt: off.
  std::optional<double> heuristic = 0.1;
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

  // `mode: shadow` (read routes): looked up and stored as if cached, but
  // every request is forwarded and served the fresh answer; what the cache
  // would have done is counted (larder_shadow_total). `shadow_sample`: the
  // fraction of would-be hits whose stored body is compared with the fresh
  // one (1.0 = every one).
  bool shadow = false;
  double shadow_sample = 1.0;

  // Write routes: namespaces a non-error answer invalidates.
  std::vector<Template> invalidates;

  bool isRead() const { return ttl.has_value() || ttl_from_upstream; }
  bool matchesMethod(std::string_view method) const;
};

// How request paths compare with route paths (config/route_pattern.h),
// by route kind; a route's own trailing_slash: / case: override these.
// Writes are lenient by default: a write that the application takes for
// /api/products/7 although it is spelled /API/products/7/ must still
// invalidate (DESIGN invariant 13). Reads are exact by default: a read that
// matches no route only goes upstream uncached, while a leniently matched one
// is cached under its own spelling, which an unsafe request matching no write
// route would not invalidate (RFC 9111 §4.4 drops only its own URI).
struct RouteMatchingConfig {
  PathMatching reads{false, false};
  PathMatching writes{true, true};
};

struct LogConfig {
  base::LogLevel level = base::LogLevel::kInfo;
  std::string error_log;               // empty: stderr
  std::string access_log;              // empty: stdout; "off": none
  unsigned rate_limit = 10;            // error-log lines per second per call site; 0 = no limit
  // The access log's line format; both carry an RFC 3339 timestamp.
  enum class AccessFormat { kText, kJson };
  AccessFormat access_format = AccessFormat::kText;
};

// `metrics:`: how many route names get their own route label value (the
// rest count under route="other"); 0 puts every route under "other".
struct MetricsConfig {
  unsigned route_labels = 100;
  static constexpr unsigned kMaxRouteLabels = 500;  // base::RouteLabels::kCapacity - 2, rounded
};

struct AdminConfig {
  std::optional<Address> listen{Address{Address::Kind::kTcp, "127.0.0.1", 9091, ""}};
  std::string token;                   // loaded from token_file; empty: no token
};

struct Config {
  std::string source_path;
  ServerConfig server;
  RequestHeaderConfig request_headers;
  UpstreamConfig upstream;
  StoreConfig store;
  CacheConfig cache;
  RouteMatchingConfig route_matching;
  std::vector<Route> routes;
  LogConfig log;
  MetricsConfig metrics;
  AdminConfig admin;
  // What the loader found suspicious but valid, each "FILE:LINE:COL:
  // warning: message": printed by --check-config, logged at start and reload.
  std::vector<std::string> warnings;

  // First route whose methods and pattern match; fills `params`.
  const Route* matchRoute(std::string_view method, std::string_view path, Params& params) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace larder::config
