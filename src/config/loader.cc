#include "config/loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "base/route_metrics.h"
#include "config/files.h"
#include "config/node_reader.h"
#include "config/route_loader.h"
#include "config/units.h"
#include "config/upstream_tls.h"
#include "http/header_map.h"
#include "http/override_fields.h"

namespace larder::config {

namespace {

using base::Unexpected;

// Secrets are a line or two; the cap keeps a mistyped path such as
// /dev/zero from reading forever.
constexpr unsigned kMaxWorkers = 1024;
// store.redis.write_consistency.wait_for_invalidation, at most.
constexpr Duration kMaxInvalidationWait = std::chrono::seconds(60);
constexpr unsigned kMaxConnections = 1u << 20;
constexpr uint64_t kMinHeaderSize = 1024;

bool isTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Fields that frame or steer the answer: stripping one, or reading names
// from it, would change what larder does with the answer.
bool isReservedField(std::string_view name) {
  constexpr std::string_view kReserved[] = {
      "Age",        "Cache-Control",    "Connection", "Content-Length", "Content-Location",
      "Date",       "ETag",             "Expires",    "Keep-Alive",     "Last-Modified",
      "Location",   "Proxy-Connection", "Set-Cookie", "TE",             "Trailer",
      "Transfer-Encoding", "Upgrade",   "Vary"};
  return std::any_of(std::begin(kReserved), std::end(kReserved),
                     [&](std::string_view reserved) { return http::equalsIgnoreCase(name, reserved); });
}

bool isHeaderValueSafe(std::string_view value) {
  for (char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) return false;
  }
  return true;
}

class Loader {
 public:
  explicit Loader(NodeReader& reader) : r_(reader) {}

  void load(const YAML::Node& root, Config& config) {
    MapReader top(r_, root, "");
    if (auto v = top.take("listen")) r_.readAddress(*v, "listen", config.server.listen);
    if (auto v = top.take("workers")) loadWorkers(*v, config.server);
    if (auto v = top.take("max_connections")) {
      r_.readUnsigned(*v, "max_connections", 1, kMaxConnections, config.server.max_connections);
    }
    if (auto v = top.take("timeouts")) loadTimeouts(*v, config.server);
    if (auto v = top.take("limits")) loadLimits(*v, config.server);
    if (auto v = top.take("request_headers")) loadRequestHeaders(*v, config.request_headers);
    auto upstream = top.take("upstream");
    if (upstream) {
      loadUpstream(*upstream, config.upstream);
    } else if (top.isMap() || root.IsNull()) {
      r_.error(root, "upstream", "missing (the API servers to forward to)");
    }
    if (auto v = top.take("store")) loadStore(*v, config.store);
    if (auto v = top.take("cache")) loadCache(*v, config.cache);
    if (auto v = top.take("route_matching")) loadRouteMatching(r_, *v, config.route_matching);
    if (auto v = top.take("routes")) loadRoutes(r_, *v, config.route_matching, config.routes);
    if (auto v = top.take("log")) loadLog(*v, config.log);
    if (auto v = top.take("metrics")) loadMetrics(*v, config.metrics);
    if (auto v = top.take("admin")) loadAdmin(*v, config);
  }

 private:
  void loadWorkers(const YAML::Node& node, ServerConfig& server) {
    if (node.IsScalar() && node.Scalar() == "auto") {
      server.workers = 0;
      return;
    }
    if (!r_.expectScalar(node, "workers", "\"auto\" or a number")) return;
    uint64_t value = 0;
    if (!parseUnsigned(node.Scalar(), value)) {
      r_.error(node, "workers", "expected \"auto\" or a number, got \"" + node.Scalar() + "\"");
      return;
    }
    r_.readUnsigned(node, "workers", 1, kMaxWorkers, server.workers);
  }

  void loadTimeouts(const YAML::Node& node, ServerConfig& server) {
    MapReader m(r_, node, "timeouts");
    if (auto v = m.take("header"))
      r_.readPositiveDuration(*v, m.pathOf("header"), server.header_timeout);
    if (auto v = m.take("body")) r_.readPositiveDuration(*v, m.pathOf("body"), server.body_timeout);
    if (auto v = m.take("idle")) r_.readPositiveDuration(*v, m.pathOf("idle"), server.idle_timeout);
    // 0 is meaningful for drain: stop at once on SIGTERM.
    if (auto v = m.take("drain")) r_.readDuration(*v, m.pathOf("drain"), server.drain_timeout);
  }

  void loadLimits(const YAML::Node& node, ServerConfig& server) {
    MapReader m(r_, node, "limits");
    if (auto v = m.take("max_header_size")) {
      uint64_t size = 0;
      if (r_.readSize(*v, m.pathOf("max_header_size"), size)) {
        if (size < kMinHeaderSize) {
          r_.error(*v, m.pathOf("max_header_size"), "must be at least 1KiB");
        } else {
          server.max_header_size = size;
        }
      }
    }
    // 0 means unlimited (documented in config.h).
    if (auto v = m.take("max_body_size"))
      r_.readSize(*v, m.pathOf("max_body_size"), server.max_body_size);
  }

  // DESIGN invariant 11: what may reach the upstream without being keyed.
  void loadRequestHeaders(const YAML::Node& node, RequestHeaderConfig& out) {
    MapReader m(r_, node, "request_headers");
    auto names = [&](std::string_view key, std::vector<std::string>& into, auto&& check) {
      auto v = m.take(key);
      if (!v) return;
      const std::string path = m.pathOf(key);
      std::vector<std::pair<std::string, YAML::Node>> items;
      if (!r_.readStringList(*v, path, items)) return;
      for (auto& [name, item] : items) {
        if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar)) {
          r_.error(item, path, "\"" + name + "\" is not a valid header name");
          continue;
        }
        std::string lower = http::asciiLower(name);
        if (const char* problem = check(lower)) {
          r_.error(item, path, "\"" + name + "\" " + problem);
          continue;
        }
        if (std::find(into.begin(), into.end(), lower) == into.end()) into.push_back(std::move(lower));
      }
    };
    names("strip", out.strip, [](const std::string& name) -> const char* {
      // The Host is the key's; framing is larder's own (it re-frames bodies).
      if (name == "host" || name == "content-length" || name == "transfer-encoding")
        return "cannot be stripped (larder sets it itself)";
      return nullptr;
    });
    names("forward", out.forward, [](const std::string& name) -> const char* {
      if (!http::isDefaultStripped(name) && !http::hasUnderscore(name))
        return "is not stripped by default (see the README's list), so there is nothing to forward";
      return nullptr;
    });
    for (const std::string& name : out.forward) {
      if (std::find(out.strip.begin(), out.strip.end(), name) != out.strip.end())
        r_.error(node, m.pathOf("forward"), "\"" + name + "\" is listed in both strip and forward");
    }
  }

  // upstream.servers[i] as {url, weight, backup} (issue 11: weight and
  // backup servers).
  void loadWeightedServer(const YAML::Node& item, const std::string& path, UpstreamConfig& upstream,
                          std::vector<bool>& server_has_scheme) {
    MapReader m(r_, item, path);
    auto url = m.take("url");
    auto weight = m.take("weight");
    auto backup = m.take("backup");
    if (!url) {
      r_.error(item, path + ".url", "missing (the server's address)");
      return;
    }
    if (!r_.expectScalar(*url, m.pathOf("url"), "an address")) return;
    auto server = parseUpstreamServer(url->Scalar());
    if (!server) {
      r_.error(*url, m.pathOf("url"), "invalid address \"" + url->Scalar() + "\": " + server.error());
      return;
    }
    if (weight) r_.readUnsigned(*weight, m.pathOf("weight"), 1, 1000, server->address.weight);
    if (backup) r_.readBool(*backup, m.pathOf("backup"), server->address.backup);
    upstream.servers.push_back(std::move(server->address));
    server_has_scheme.push_back(server->has_scheme);
  }

  void loadUpstream(const YAML::Node& node, UpstreamConfig& upstream) {
    MapReader m(r_, node, "upstream");
    std::vector<bool> server_has_scheme;
    auto servers = m.take("servers");
    if (!servers) {
      if (m.isMap() || node.IsNull())
        r_.error(node, "upstream.servers", "missing (at least one server is required)");
    } else if (!servers->IsSequence()) {
      r_.error(*servers, "upstream.servers", "expected a list of host:port addresses");
    } else if (servers->size() == 0) {
      r_.error(*servers, "upstream.servers", "empty (at least one server is required)");
    } else {
      size_t index = 0;
      for (const YAML::Node& item : *servers) {
        const std::string path = "upstream.servers[" + std::to_string(index++) + "]";
        if (item.IsMap()) {
          loadWeightedServer(item, path, upstream, server_has_scheme);
          continue;
        }
        if (!r_.expectScalar(item, path, "an address, or {url, weight, backup}")) continue;
        auto server = parseUpstreamServer(item.Scalar());
        if (!server) {
          r_.error(item, path, "invalid address \"" + item.Scalar() + "\": " + server.error());
          continue;
        }
        upstream.servers.push_back(std::move(server->address));
        server_has_scheme.push_back(server->has_scheme);
      }
      // Backups serve only when every primary is down: there must be one.
      if (!upstream.servers.empty() &&
          std::all_of(upstream.servers.begin(), upstream.servers.end(),
                      [](const Address& server) { return server.backup; }))
        r_.error(*servers, "upstream.servers", "every server is a backup (at least one must not be)");
    }
    // upstream.tls turns TLS on for every server written without a scheme;
    // an https:// server alone turns it on with the defaults.
    if (auto v = m.take("tls")) {
      UpstreamTlsConfig tls;
      if (loadUpstreamTls(r_, *v, m.pathOf("tls"), tls)) {
        for (size_t i = 0; i < upstream.servers.size(); ++i)
          if (!server_has_scheme[i]) upstream.servers[i].tls = true;
        upstream.tls = std::move(tls);
      }
    }
    for (const Address& server : upstream.servers)
      if (server.tls && !upstream.tls) upstream.tls.emplace();
    if (auto v = m.take("connect_timeout")) {
      r_.readPositiveDuration(*v, m.pathOf("connect_timeout"), upstream.connect_timeout);
    }
    if (auto v = m.take("response_timeout")) {
      r_.readPositiveDuration(*v, m.pathOf("response_timeout"), upstream.response_timeout);
    }
    if (auto v = m.take("idle_timeout"))
      r_.readPositiveDuration(*v, m.pathOf("idle_timeout"), upstream.idle_timeout);
    // 0 keeps no idle connections: every request opens a new one.
    if (auto v = m.take("keepalive"))
      r_.readUnsigned(*v, m.pathOf("keepalive"), 0, 100000, upstream.keepalive);
    if (auto v = m.take("resolve_interval"))
      r_.readPositiveDuration(*v, m.pathOf("resolve_interval"), upstream.resolve_interval);
    if (auto v = m.take("passive_health")) {
      MapReader health(r_, *v, m.pathOf("passive_health"));
      if (auto f = health.take("failures"))
        r_.readUnsigned(*f, health.pathOf("failures"), 0, 1000, upstream.passive_health.failures);
      if (auto c = health.take("cooldown"))
        r_.readPositiveDuration(*c, health.pathOf("cooldown"), upstream.passive_health.cooldown);
    }
    if (auto v = m.take("health_check")) loadHealthCheck(*v, m.pathOf("health_check"), upstream);
    if (auto v = m.take("host")) {
      std::string host;
      if (r_.readNonEmptyString(*v, m.pathOf("host"), host)) {
        // It becomes a header value: control characters would split the request.
        if (!isHeaderValueSafe(host) || host.find(' ') != std::string::npos) {
          r_.error(*v, m.pathOf("host"), "must not contain spaces or control characters");
        } else {
          upstream.host = std::move(host);
        }
      }
    }
  }

  void loadHealthCheck(const YAML::Node& node, const std::string& path, UpstreamConfig& upstream) {
    MapReader m(r_, node, path);
    HealthCheckConfig check;
    if (auto v = m.take("path")) {
      std::string value;
      if (r_.readNonEmptyString(*v, m.pathOf("path"), value)) {
        // It becomes a request line: no spaces or control characters.
        if (value.front() != '/' || !isHeaderValueSafe(value) || value.find(' ') != std::string::npos) {
          r_.error(*v, m.pathOf("path"), "must start with / and contain no spaces or control characters");
        } else {
          check.path = std::move(value);
        }
      }
    }
    if (auto v = m.take("interval")) r_.readPositiveDuration(*v, m.pathOf("interval"), check.interval);
    if (auto v = m.take("timeout")) r_.readPositiveDuration(*v, m.pathOf("timeout"), check.timeout);
    if (auto v = m.take("expect")) {
      std::string value;
      if (r_.expectScalar(*v, m.pathOf("expect"), "a status (200) or a class (2xx)")) {
        value = v->Scalar();
        uint64_t status = 0;
        if (value.size() == 3 && value[0] >= '1' && value[0] <= '5' && value.substr(1) == "xx") {
          check.expect = 0;
          check.expect_class = value[0] - '0';
        } else if (parseUnsigned(value, status) && status >= 100 && status <= 599) {
          check.expect = static_cast<int>(status);
        } else {
          r_.error(*v, m.pathOf("expect"), "expected a status (200) or a class (2xx), got \"" + value + "\"");
        }
      }
    }
    if (m.isMap() || node.IsNull()) upstream.health_check = std::move(check);
  }

  void loadStore(const YAML::Node& node, StoreConfig& store) {
    MapReader m(r_, node, "store");
    if (auto v = m.take("redis")) {
      has_redis_ = true;  // even if invalid: that error is the one to report
      // `redis:` with nothing under it is a mistake, not "no redis": the user
      // asked for Redis and would silently get the memory store.
      if (v->IsNull()) {
        r_.error(*v, m.pathOf("redis"), "empty (remove it to use the memory store, or set url)");
      } else {
        RedisConfig redis;
        if (loadRedis(*v, redis)) store.redis = std::move(redis);
      }
    }
    if (auto v = m.take("memory")) {
      MapReader memory(r_, *v, m.pathOf("memory"));
      // 0 disables the in-process tier.
      if (auto size = memory.take("max_size"))
        r_.readSize(*size, memory.pathOf("max_size"), store.memory_max_size);
    }
    if (auto v = m.take("on_failure")) {
      const std::string path = m.pathOf("on_failure");
      if (r_.expectScalar(*v, path, "bypass or reject")) {
        if (v->Scalar() == "bypass") {
          store.on_failure = StoreFailureMode::kBypass;
        } else if (v->Scalar() == "reject") {
          store.on_failure = StoreFailureMode::kReject;
        } else {
          r_.error(*v, path, "expected bypass or reject, got \"" + v->Scalar() + "\"");
        }
      }
    }
  }

  bool loadRedis(const YAML::Node& node, RedisConfig& redis) {
    MapReader m(r_, node, "store.redis");
    if (!m.isMap()) return false;
    bool ok = true;
    const bool has_url = m.has("url");
    if (auto v = m.take("url")) {
      if (r_.expectScalar(*v, m.pathOf("url"), "a redis:// or unix:// URL")) {
        auto endpoint = parseRedisUrl(v->Scalar());
        if (endpoint) {
          redis.address = std::move(endpoint->address);
          redis.database = endpoint->database;
          redis.username = std::move(endpoint->username);
        } else {
          r_.error(*v, m.pathOf("url"), "invalid URL: " + endpoint.error());
          ok = false;
        }
      } else {
        ok = false;
      }
    }
    // store.redis.cluster: a block of its own (issue 16, item 2).
    if (auto v = m.take("cluster")) {
      ClusterConfig cluster;
      if (!loadCluster(*v, m.pathOf("cluster"), cluster)) {
        ok = false;
      } else if (has_url || m.has("sentinel")) {
        r_.error(*v, m.pathOf("cluster"), "set url, sentinel or cluster, not more than one");
        ok = false;
      } else {
        redis.cluster = std::move(cluster);
      }
    }
    if (auto v = m.take("sentinel")) {
      SentinelConfig sentinel;
      if (loadSentinel(*v, m.pathOf("sentinel"), sentinel)) {
        redis.sentinel = std::move(sentinel);
      } else {
        ok = false;
      }
    } else if (!has_url && !redis.cluster && ok) {
      r_.error(node, m.pathOf("url"), "missing (e.g. redis://127.0.0.1:6379/0, or set sentinel)");
      ok = false;
    }
    if (auto v = m.take("password")) {
      r_.error(*v, m.pathOf("password"),
               "a password must not be written in the config; use password_file or password_env");
      ok = false;
    }
    auto file = m.take("password_file");
    auto env = m.take("password_env");
    if (file && env) {
      r_.error(*env, m.pathOf("password_env"), "set password_file or password_env, not both");
      ok = false;
    } else if (file) {
      std::string path;
      std::string error;
      if (!r_.readNonEmptyString(*file, m.pathOf("password_file"), path)) {
        ok = false;
      } else if (!readSecretFile(path, redis.password, error)) {
        r_.error(*file, m.pathOf("password_file"), error);
        ok = false;
      }
    } else if (env) {
      std::string name;
      if (!r_.readNonEmptyString(*env, m.pathOf("password_env"), name)) {
        ok = false;
      } else if (const char* value = std::getenv(name.c_str());
                 value == nullptr || *value == '\0') {
        r_.error(*env, m.pathOf("password_env"),
                 "environment variable " + name + " is not set or empty");
        ok = false;
      } else {
        redis.password = value;
      }
    }
    if (auto v = m.take("timeout"))
      ok &= r_.readPositiveDuration(*v, m.pathOf("timeout"), redis.timeout);
    if (auto v = m.take("connections"))
      ok &= r_.readUnsigned(*v, m.pathOf("connections"), 1, 64, redis.connections);
    if (auto v = m.take("max_in_flight"))
      ok &= r_.readUnsigned(*v, m.pathOf("max_in_flight"), 1, 1024, redis.max_in_flight);
    if (auto v = m.take("max_in_flight_bytes")) {
      if (!r_.readSize(*v, m.pathOf("max_in_flight_bytes"), redis.max_in_flight_bytes)) {
        ok = false;
      } else if (redis.max_in_flight_bytes == 0) {
        r_.error(*v, m.pathOf("max_in_flight_bytes"), "must be greater than 0");
        ok = false;
      }
    }
    if (auto v = m.take("max_queued"))
      ok &= r_.readUnsigned(*v, m.pathOf("max_queued"), 0, 1000000, redis.max_queued);
    if (auto v = m.take("local_copies")) {
      MapReader copies(r_, *v, m.pathOf("local_copies"));
      ok &= copies.isMap() || v->IsNull();
      if (auto size = copies.take("size"))
        ok &= r_.readSize(*size, copies.pathOf("size"), redis.local_copies_size);
      if (auto min_size = copies.take("min_size")) {
        if (!r_.readSize(*min_size, copies.pathOf("min_size"), redis.local_copies_min_size)) {
          ok = false;
        } else if (redis.local_copies_min_size < 1024) {
          // Below a few KiB the lookup script costs Redis more than the bytes saved.
          r_.error(*min_size, copies.pathOf("min_size"), "must be at least 1KiB");
          ok = false;
        }
      }
    }
    if (auto v = m.take("breaker")) {
      MapReader breaker(r_, *v, m.pathOf("breaker"));
      ok &= breaker.isMap() || v->IsNull();
      if (auto f = breaker.take("failures")) {
        ok &= r_.readUnsigned(*f, breaker.pathOf("failures"), 1, 1000000, redis.breaker_failures);
      }
      if (auto c = breaker.take("cooldown")) {
        ok &= r_.readPositiveDuration(*c, breaker.pathOf("cooldown"), redis.breaker_cooldown);
      }
    }
    if (auto v = m.take("write_consistency")) {
      MapReader consistency(r_, *v, m.pathOf("write_consistency"));
      ok &= consistency.isMap() || v->IsNull();
      if (auto w = consistency.take("wait_for_invalidation")) {
        const std::string path = consistency.pathOf("wait_for_invalidation");
        if (!r_.readDuration(*w, path, redis.wait_for_invalidation)) {
          ok = false;
        } else if (redis.wait_for_invalidation > kMaxInvalidationWait) {
          r_.error(*w, path, "must be at most 60s (a client waits this long for its write's answer)");
          ok = false;
        }
      }
    }
    return ok;
  }

  // store.redis.cluster: {nodes: [host:port...]}
  bool loadCluster(const YAML::Node& node, const std::string& path, ClusterConfig& cluster) {
    MapReader m(r_, node, path);
    if (!m.isMap()) {
      r_.error(node, path, "expected a map (nodes)");
      return false;
    }
    auto list = m.take("nodes");
    if (!list) {
      r_.error(node, m.pathOf("nodes"), "missing (a list of host:port)");
      return false;
    }
    if (!list->IsSequence() || list->size() == 0) {
      r_.error(*list, m.pathOf("nodes"), "expected a non-empty list of host:port addresses");
      return false;
    }
    bool ok = true;
    size_t index = 0;
    for (const YAML::Node& item : *list) {
      const std::string item_path = m.pathOf("nodes") + "[" + std::to_string(index++) + "]";
      Address address;
      if (!r_.readAddress(item, item_path, address)) {
        ok = false;
      } else if (address.kind != Address::Kind::kTcp) {
        r_.error(item, item_path, "a cluster node is reached over TCP (host:port)");
        ok = false;
      } else {
        cluster.nodes.push_back(std::move(address));
      }
    }
    return ok;
  }

  // store.redis.sentinel: {master_name, sentinels: [host:port...], password_file}
  bool loadSentinel(const YAML::Node& node, const std::string& path, SentinelConfig& sentinel) {
    MapReader m(r_, node, path);
    if (!m.isMap()) {
      r_.error(node, path, "expected a map (master_name, sentinels, password_file)");
      return false;
    }
    bool ok = true;
    if (auto v = m.take("master_name")) {
      ok &= r_.readNonEmptyString(*v, m.pathOf("master_name"), sentinel.master_name);
    } else {
      r_.error(node, m.pathOf("master_name"), "missing (the name in `sentinel monitor <name> ...`)");
      ok = false;
    }
    auto list = m.take("sentinels");
    if (!list) {
      r_.error(node, m.pathOf("sentinels"), "missing (a list of host:port)");
      ok = false;
    } else if (!list->IsSequence() || list->size() == 0) {
      r_.error(*list, m.pathOf("sentinels"), "expected a non-empty list of host:port addresses");
      ok = false;
    } else {
      size_t index = 0;
      for (const YAML::Node& item : *list) {
        const std::string item_path = m.pathOf("sentinels") + "[" + std::to_string(index++) + "]";
        Address address;
        if (!r_.readAddress(item, item_path, address)) {
          ok = false;
        } else if (address.kind != Address::Kind::kTcp) {
          r_.error(item, item_path, "a sentinel is reached over TCP (host:port)");
          ok = false;
        } else {
          sentinel.sentinels.push_back(std::move(address));
        }
      }
    }
    if (auto v = m.take("password_file")) {
      std::string file;
      std::string error;
      if (!r_.readNonEmptyString(*v, m.pathOf("password_file"), file)) {
        ok = false;
      } else if (!readSecretFile(file, sentinel.password, error)) {
        r_.error(*v, m.pathOf("password_file"), error);
        ok = false;
      }
    }
    return ok;
  }

  void loadCache(const YAML::Node& node, CacheConfig& cache) {
    MapReader m(r_, node, "cache");
    if (auto v = m.take("key_prefix")) {
      std::string prefix;
      if (r_.readNonEmptyString(*v, m.pathOf("key_prefix"), prefix)) {
        // It is spliced into Redis keys, where spaces and braces (cluster hash
        // tags) would change what a key means.
        const bool safe = std::all_of(prefix.begin(), prefix.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
                 c == ':';
        });
        if (safe) {
          cache.key_prefix = std::move(prefix);
        } else {
          r_.error(*v, m.pathOf("key_prefix"),
                   "may contain only letters, digits, '_', '-', '.' and ':'");
        }
      }
    }
    if (auto v = m.take("max_object_size")) {
      uint64_t size = 0;
      if (r_.readSize(*v, m.pathOf("max_object_size"), size)) {
        if (size == 0) {
          r_.error(*v, m.pathOf("max_object_size"), "must be greater than 0");
        } else {
          cache.max_object_size = size;
        }
      }
    }
    if (auto v = m.take("stale_while_revalidate")) {
      r_.readDuration(*v, m.pathOf("stale_while_revalidate"), cache.stale_while_revalidate);
    }
    if (auto v = m.take("stale_if_error"))
      r_.readDuration(*v, m.pathOf("stale_if_error"), cache.stale_if_error);
    if (auto v = m.take("lock_timeout"))
      r_.readPositiveDuration(*v, m.pathOf("lock_timeout"), cache.lock_timeout);
    if (auto v = m.take("memory_tier_size"))
      r_.readSize(*v, m.pathOf("memory_tier_size"), cache.memory_tier_size);
    if (auto v = m.take("status_header")) {
      std::string name;
      if (v->IsScalar() && v->Scalar() == "off") {
        cache.status_header.clear();
      } else if (r_.readNonEmptyString(*v, m.pathOf("status_header"), name)) {
        if (std::all_of(name.begin(), name.end(), isTokenChar)) {
          cache.status_header = std::move(name);
        } else {
          r_.error(*v, m.pathOf("status_header"), "is not a valid header name");
        }
      }
    }
    if (auto v = m.take("distributed_lock"))
      loadDistributedLock(*v, m.pathOf("distributed_lock"), cache.distributed_lock);
    if (auto v = m.take("surrogate_keys")) loadSurrogateKeys(*v, m.pathOf("surrogate_keys"), cache);
    if (auto v = m.take("cache_status")) {
      std::string name;
      if (v->IsScalar() && v->Scalar() == "off") {
        cache.cache_status.clear();
      } else if (r_.readNonEmptyString(*v, m.pathOf("cache_status"), name)) {
        if (std::all_of(name.begin(), name.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
          cache.cache_status = std::move(name);
        } else {
          r_.error(*v, m.pathOf("cache_status"), "must be printable ASCII");
        }
      }
    }
    if (auto v = m.take("targeted_cache_control"))
      loadTargetedFields(*v, m.pathOf("targeted_cache_control"), cache);
    if (auto v = m.take("compression")) loadCompression(*v, m.pathOf("compression"), cache.compression);
  }

  // `off`, or { algorithm, min_size, level, types }.
  void loadCompression(const YAML::Node& node, const std::string& path, CompressionConfig& out) {
    using Algorithm = CompressionConfig::Algorithm;
    if (node.IsScalar()) {
      if (node.Scalar() == "off") {
        out.algorithm = Algorithm::kOff;
      } else {
        r_.error(node, path, "expected off or a mapping { algorithm, min_size, level, types }, got \"" +
                                 node.Scalar() + "\"");
      }
      return;
    }
    MapReader m(r_, node, path);
    if (auto v = m.take("algorithm")) {
      std::string name;
      if (r_.readNonEmptyString(*v, m.pathOf("algorithm"), name)) {
        if (name == "gzip") {
          out.algorithm = Algorithm::kGzip;
        } else if (name == "zstd") {
          out.algorithm = Algorithm::kZstd;
        } else if (name == "off") {
          out.algorithm = Algorithm::kOff;
        } else {
          r_.error(*v, m.pathOf("algorithm"), "expected gzip, zstd or off, got \"" + name + "\"");
        }
      }
    }
    if (auto v = m.take("min_size")) r_.readSize(*v, m.pathOf("min_size"), out.min_size);
    // The default level depends on the algorithm, so it is checked after it.
    if (out.algorithm == Algorithm::kZstd) out.level = 3;
    if (auto v = m.take("level")) {
      const unsigned max = out.algorithm == Algorithm::kZstd ? 19 : 12;
      unsigned level = 0;
      if (r_.readUnsigned(*v, m.pathOf("level"), 1, max, level)) out.level = static_cast<int>(level);
    }
    if (auto v = m.take("types")) {
      std::vector<std::pair<std::string, YAML::Node>> items;
      if (!r_.readStringList(*v, m.pathOf("types"), items)) return;
      std::vector<std::string> types;
      for (auto& listed : items) {
        std::string type = http::asciiLower(listed.first);
        const size_t slash = type.find('/');
        const bool valid = slash != std::string::npos && slash > 0 && slash + 1 < type.size() &&
                           std::all_of(type.begin(), type.end(), [](char c) { return c == '/' || isTokenChar(c); }) &&
                           type.find('/', slash + 1) == std::string::npos &&
                           (type.find('*') == std::string::npos || (type.substr(slash) == "/*" && type.find('*') == slash + 1));
        if (!valid) {
          r_.error(listed.second, m.pathOf("types"), "\"" + listed.first + "\" is not a media type (type/subtype or type/*)");
        } else {
          types.push_back(std::move(type));
        }
      }
      out.types = std::move(types);
    }
  }

  // A list of field names, in precedence order (RFC 9213 §2.1); [] for none.
  void loadTargetedFields(const YAML::Node& node, const std::string& path, CacheConfig& cache) {
    if (node.IsSequence() && node.size() == 0) {
      cache.targeted_cache_control.clear();
      return;
    }
    std::vector<std::pair<std::string, YAML::Node>> items;
    if (!r_.readStringList(node, path, items)) return;
    std::vector<std::string> fields;
    // Not a structured binding: clang 14 cannot capture one in the lambda.
    for (auto& listed : items) {
      std::string& name = listed.first;
      const YAML::Node& item = listed.second;
      const bool duplicate = std::any_of(fields.begin(), fields.end(), [&](const std::string& f) {
        return http::equalsIgnoreCase(f, name);
      });
      if (name.empty() || !std::all_of(name.begin(), name.end(), isTokenChar)) {
        r_.error(item, path, "\"" + name + "\" is not a valid header name");
      } else if (isReservedField(name)) {
        r_.error(item, path, "\"" + name + "\" is not a targeted cache-control field");
      } else if (duplicate) {
        r_.error(item, path, "\"" + name + "\" is listed twice");
      } else {
        fields.push_back(std::move(name));
      }
    }
    cache.targeted_cache_control = std::move(fields);
  }

  // Enabled without Redis is an error, not ignored: the lock lives in the
  // Redis the instances share, and a fleet that believes it is protected
  // while each instance fetches on its own is worse than a refused config.
  void loadDistributedLock(const YAML::Node& node, const std::string& path,
                           DistributedLockConfig& lock) {
    MapReader m(r_, node, path);
    if (auto v = m.take("enabled")) {
      if (r_.readBool(*v, m.pathOf("enabled"), lock.enabled) && lock.enabled &&
          !has_redis_) {
        r_.error(*v, m.pathOf("enabled"),
                 "needs store.redis (the lock lives in the Redis the instances share)");
      }
    }
    if (auto v = m.take("ttl")) r_.readPositiveDuration(*v, m.pathOf("ttl"), lock.ttl);
  }

  // `off`, or { header: NAME, strip: BOOL }.
  void loadSurrogateKeys(const YAML::Node& node, const std::string& path, CacheConfig& cache) {
    SurrogateKeyConfig& keys = cache.surrogate_keys;
    if (node.IsScalar()) {
      if (node.Scalar() == "off") {
        keys.enabled = false;
      } else {
        r_.error(node, path, "expected off or a mapping { header, strip }, got \"" + node.Scalar() + "\"");
      }
      return;
    }
    MapReader m(r_, node, path);
    if (auto v = m.take("header")) {
      std::string name;
      if (r_.readNonEmptyString(*v, m.pathOf("header"), name)) {
        if (!std::all_of(name.begin(), name.end(), isTokenChar)) {
          r_.error(*v, m.pathOf("header"), "is not a valid header name");
        } else if (isReservedField(name) || http::equalsIgnoreCase(name, cache.status_header)) {
          r_.error(*v, m.pathOf("header"), "names a field larder itself reads or writes: \"" + name + "\"");
        } else {
          keys.header = std::move(name);
        }
      }
    }
    if (auto v = m.take("strip")) r_.readBool(*v, m.pathOf("strip"), keys.strip);
  }

  void loadLog(const YAML::Node& node, LogConfig& log) {
    MapReader m(r_, node, "log");
    if (auto v = m.take("level")) {
      if (r_.expectScalar(*v, m.pathOf("level"), "a log level") &&
          !base::parseLogLevel(v->Scalar(), log.level)) {
        r_.error(*v, m.pathOf("level"),
                 "expected debug, info, warn, error or off, got \"" + v->Scalar() + "\"");
      }
    }
    if (auto v = m.take("error_log")) r_.readString(*v, m.pathOf("error_log"), log.error_log);
    if (auto v = m.take("access_log")) r_.readString(*v, m.pathOf("access_log"), log.access_log);
    if (auto v = m.take("rate_limit")) {
      if (v->IsScalar() && v->Scalar() == "off") {
        log.rate_limit = 0;
      } else {
        r_.readUnsigned(*v, m.pathOf("rate_limit"), 0, 1000000, log.rate_limit);
      }
    }
    if (auto v = m.take("access_format")) {
      std::string format;
      if (r_.readString(*v, m.pathOf("access_format"), format)) {
        if (format == "text" || format == "json") {
          log.access_format = format == "json" ? LogConfig::AccessFormat::kJson : LogConfig::AccessFormat::kText;
        } else {
          r_.error(*v, m.pathOf("access_format"), "expected text or json, got \"" + format + "\"");
        }
      }
    }
  }

  // `metrics: { route_labels: N }` (base/route_metrics.h bounds it).
  void loadMetrics(const YAML::Node& node, MetricsConfig& metrics) {
    MapReader m(r_, node, "metrics");
    if (auto v = m.take("route_labels")) {
      r_.readUnsigned(*v, m.pathOf("route_labels"), 0, MetricsConfig::kMaxRouteLabels, metrics.route_labels);
    }
  }

  void loadAdmin(const YAML::Node& node, Config& config) {
    MapReader m(r_, node, "admin");
    if (auto v = m.take("listen")) {
      if (v->IsScalar() && v->Scalar() == "off") {
        config.admin.listen.reset();
      } else {
        Address address;
        if (r_.readAddress(*v, m.pathOf("listen"), address)) {
          if (address == config.server.listen) {
            r_.error(*v, m.pathOf("listen"), "is the same address as listen");
          } else {
            config.admin.listen = std::move(address);
          }
        }
      }
    }
    if (auto v = m.take("token_file")) {
      std::string path;
      std::string error;
      if (r_.readNonEmptyString(*v, m.pathOf("token_file"), path) &&
          !readSecretFile(path, config.admin.token, error)) {
        r_.error(*v, m.pathOf("token_file"), error);
      }
    }
  }

  NodeReader& r_;
  bool has_redis_ = false;  // store.redis is configured (loaded before cache)
};

// Records where each document starts; the events themselves are not needed.
class DocumentMarks : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// YAML::Load reads only the first document, so a second one would be
// silently ignored. YAML::LoadAll cannot be used to find it: in yaml-cpp 0.7
// it loops forever, allocating, on input such as "," (yaml-cpp #1040, fixed
// by PR #1319 in 0.8). So the documents are walked here, at most two of them,
// and a document that starts where the previous one did is the parser stuck
// on a token it cannot place.
void checkSingleDocument(const std::string& yaml, NodeReader& reader) {
  std::istringstream stream(yaml);
  YAML::Parser parser(stream);
  DocumentMarks marks;
  for (int i = 0; i < 2 && parser.HandleNextDocument(marks); ++i) {
  }
  if (marks.starts.size() < 2) return;
  if (marks.starts[1].pos == marks.starts[0].pos) {
    reader.error(marks.starts[1], "YAML syntax error: unexpected token");
  } else {
    reader.error(marks.starts[1], "the file holds more than one YAML document ('---')");
  }
}

// A later document needs a line starting with "---" (explicit start), after
// "..." (end of the previous one) or "%" (a directive) (YAML 1.2 §9.2).
bool mayHoldSeveralDocuments(std::string_view yaml) {
  for (std::string_view marker : {"---", "...", "%"}) {
    if (yaml.starts_with(marker)) return true;
    if (yaml.find("\n" + std::string(marker)) != std::string_view::npos) return true;
  }
  return false;
}

LoadResult load(const std::string& yaml, const std::string& name, const std::string& source_path) {
  NodeReader reader(name);
  auto config = std::make_shared<Config>();
  config->source_path = source_path;
  try {
    // The document walk costs a third of a parse, so it is skipped when it
    // cannot find anything: no marker line, and a block mapping at the root
    // (yaml-cpp throws on a token after one instead of leaving it behind,
    // which only happens after other roots, e.g. "," alone).
    YAML::Node root;
    if (mayHoldSeveralDocuments(yaml)) {
      checkSingleDocument(yaml, reader);
      root = YAML::Load(yaml);
    } else {
      root = YAML::Load(yaml);
      if (!root.IsMap() || root.Style() != YAML::EmitterStyle::Block) checkSingleDocument(yaml, reader);
    }
    Loader(reader).load(root, *config);
  } catch (const YAML::Exception& e) {
    // Parse errors (and anything yaml-cpp throws while walking) stop here: STYLE E2.
    reader.error(e.mark, "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    reader.error(YAML::Mark::null_mark(), std::string("cannot load: ") + e.what());
  }
  if (reader.hasErrors()) return Unexpected{reader.takeErrors()};
  // Issue 15: each route's metrics series, resolved once here so a request
  // only indexes (base/route_metrics.h); the first metrics.route_labels
  // names get their own label value, the rest count under "other".
  for (Route& route : config->routes)
    route.metric_slot = base::RouteLabels::instance().slotOf(route.name, config->metrics.route_labels);
  for (const ConfigError& warning : reader.takeWarnings()) {
    ConfigError text = warning;
    text.message = "warning: " + text.message;
    config->warnings.push_back(text.toString());
  }
  return ConfigPtr(std::move(config));
}

}  // namespace

std::string ConfigError::toString() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (column > 0) out += ":" + std::to_string(column);
  }
  return out + ": " + message;
}

LoadResult loadConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  struct stat info {};
  if (!in || ::stat(path.c_str(), &info) != 0) {
    return Unexpected{std::vector<ConfigError>{
        {path, 0, 0, std::string("cannot read: ") + std::strerror(errno)}}};
  }
  if (S_ISDIR(info.st_mode)) {
    return Unexpected{std::vector<ConfigError>{{path, 0, 0, "cannot read: is a directory"}}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Unexpected{std::vector<ConfigError>{
        {path, 0, 0, std::string("cannot read: ") + std::strerror(errno)}}};
  }
  return load(text.str(), path, path);
}

LoadResult loadConfigString(const std::string& yaml, const std::string& name) {
  return load(yaml, name, "");
}

}  // namespace larder::config
