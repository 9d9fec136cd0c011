#include "config/loader.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;
using namespace std::chrono_literals;

namespace {

std::vector<ConfigError> errorListOf(const std::string& yaml) {
  auto result = loadConfigString(yaml, "conf.yaml");
  if (result.ok()) return {};
  return result.error();
}

std::string joined(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& error : errors) out += error.toString() + "\n";
  return out;
}

// A scratch directory for secret files, removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string name =
        (std::filesystem::temp_directory_path() / "larder-config-test-XXXXXX").string();
    REQUIRE(::mkdtemp(name.data()) != nullptr);
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& file, const std::string& text) const {
    std::ofstream(path / file, std::ios::binary) << text;
    return (path / file).string();
  }
};

std::string sourceDir() {
#ifdef LARDER_SOURCE_DIR
  return LARDER_SOURCE_DIR;
#else
  // Run from the build tree: walk up until conf/larder.yaml appears.
  auto dir = std::filesystem::current_path();
  while (!std::filesystem::exists(dir / "conf/larder.yaml") && dir.has_parent_path() &&
         dir != dir.parent_path()) {
    dir = dir.parent_path();
  }
  return dir.string();
#endif
}

}  // namespace

TEST_CASE("conf/plain-cache.yaml, the plain HTTP cache example, loads without errors") {
  auto result = loadConfigFile(sourceDir() + "/conf/plain-cache.yaml");
  if (!result.ok()) MESSAGE(joined(result.error()));
  REQUIRE(result.ok());
  Params params;
  const Route* route = (*result)->matchRoute("GET", "/anything/at/all", params);
  REQUIRE(route != nullptr);
  CHECK(route->ttl_from_upstream);
  CHECK_FALSE(route->statuses.has_value());
  CHECK(route->heuristic == 0.1);
}

TEST_CASE("conf/larder.yaml, the documented example, loads without errors") {
  auto result = loadConfigFile(sourceDir() + "/conf/larder.yaml");
  if (!result.ok()) MESSAGE(joined(result.error()));
  REQUIRE(result.ok());
  const Config& config = **result;
  CHECK(config.source_path == sourceDir() + "/conf/larder.yaml");
  CHECK(config.server.listen.toString() == "0.0.0.0:8080");
  REQUIRE(config.upstream.servers.size() == 1);
  CHECK(config.upstream.servers[0].toString() == "127.0.0.1:8000");
  CHECK_FALSE(config.store.redis.has_value());  // runs with the memory store alone
  CHECK(config.admin.token.empty());

  Params params;
  const Route* me = config.matchRoute("GET", "/api/me", params);
  REQUIRE(me != nullptr);
  REQUIRE(me->per_user.has_value());
  CHECK(me->per_user->kind == PrincipalSource::Kind::kHeader);
  const Route* product = config.matchRoute("GET", "/api/products/7", params);
  REQUIRE(product != nullptr);
  // The example teaches one namespace per item (README "Designing namespaces").
  REQUIRE(product->namespaces.size() == 1);
  CHECK(product->namespaces[0].expand(params) == "product:7");
  const Route* update = config.matchRoute("PATCH", "/api/products/7", params);
  REQUIRE(update != nullptr);
  CHECK_FALSE(update->isRead());
  CHECK(update->invalidates.size() == 2);
  CHECK(config.matchRoute("GET", "/api/categories/shoes/products", params) != nullptr);
  CHECK(config.matchRoute("GET", "/health", params) == nullptr);
}

TEST_CASE("a minimal config gets the documented defaults") {
  auto config = loadOrFail(kUpstreamYaml);
  const Config defaults;
  CHECK(config->server.listen == defaults.server.listen);
  CHECK(config->server.workers == 0);
  CHECK(config->server.header_timeout == 10s);
  CHECK(config->upstream.keepalive == 64);
  CHECK_FALSE(config->upstream.host.has_value());
  CHECK_FALSE(config->store.redis.has_value());
  CHECK(config->store.memory_max_size == 64ull << 20);
  CHECK(config->cache.status_header == "X-Cache");
  CHECK(config->cache.surrogate_keys.enabled);
  CHECK(config->cache.surrogate_keys.header == "Surrogate-Key");
  CHECK(config->cache.surrogate_keys.strip);
  CHECK(config->routes.empty());
  CHECK(config->log.rate_limit == 10);
  REQUIRE(config->admin.listen.has_value());
  CHECK(config->admin.listen->toString() == "127.0.0.1:9091");
  CHECK(config->source_path.empty());
}

TEST_CASE("every key of the schema reaches its field") {
  TempDir dir;
  const std::string password = dir.write("redis.pass", "s3cret\n");
  const std::string token = dir.write("admin.token", "tok\r\n");
  auto config = loadOrFail(R"(
listen: "[::]:8081"
workers: 4
max_connections: 500
timeouts: { header: 5s, body: 15s, idle: 2m, drain: 0 }
limits: { max_header_size: 32k, max_body_size: 0 }
upstream:
  servers: [10.0.0.1:8000, "[::1]:8001", unix:/run/api.sock]
  connect_timeout: 250ms
  response_timeout: 10s
  idle_timeout: 30s
  keepalive: 0
  host: api.internal
store:
  redis:
    url: redis://larder@10.0.0.9:6380/3
    password_file: )" +
                     password + R"(
    timeout: 40ms
    connections: 4
    breaker: { failures: 3, cooldown: 2s }
  memory: { max_size: 128MiB }
  on_failure: reject
cache:
  key_prefix: prod-2
  max_object_size: 2MiB
  stale_while_revalidate: 10s
  stale_if_error: 1m
  lock_timeout: 3s
  status_header: X-Larder
  memory_tier_size: 16MiB
  surrogate_keys: { header: X-Cache-Tags, strip: false }
routes:
  - match: GET|HEAD /api/items/{id}
    ttl: upstream
    max_ttl: 1d
    namespaces: [items, "item:{id}"]
    vary: [Accept-Language, X-Tenant]
    query: { ignore: ["utm_*", fbclid] }
    per_user: { jwt_claim: sub, header: X-Token }
    statuses: [200, 203, 404]
    stale_while_revalidate: 30s
    stale_if_error: 5m
    memory_ttl: 2s
  - match: GET /api/me
    ttl: 1m
    per_user: { cookie: session }
    query: { keep: [page] }
    ignore_upstream_cache_control: true
  - match: PUT|PATCH|DELETE /api/items/{id}
    invalidates: [items, "item:{id}"]
log: { level: debug, error_log: /var/log/larder/error.log, access_log: "off", rate_limit: 3 }
admin:
  listen: unix:/run/larder-admin.sock
  token_file: )" + token +
                     "\n");

  CHECK(config->server.listen.toString() == "[::]:8081");
  CHECK(config->server.workers == 4);
  CHECK(config->server.max_connections == 500);
  CHECK(config->server.header_timeout == 5s);
  CHECK(config->server.body_timeout == 15s);
  CHECK(config->server.idle_timeout == 2min);
  CHECK(config->server.drain_timeout == 0s);
  CHECK(config->server.max_header_size == 32 * 1024);
  CHECK(config->server.max_body_size == 0);

  REQUIRE(config->upstream.servers.size() == 3);
  CHECK(config->upstream.servers[1].toString() == "[::1]:8001");
  CHECK(config->upstream.servers[2].kind == Address::Kind::kUnix);
  CHECK(config->upstream.connect_timeout == 250ms);
  CHECK(config->upstream.response_timeout == 10s);
  CHECK(config->upstream.idle_timeout == 30s);
  CHECK(config->upstream.keepalive == 0);
  CHECK(config->upstream.host == "api.internal");

  REQUIRE(config->store.redis.has_value());
  const RedisConfig& redis = *config->store.redis;
  CHECK(redis.address.toString() == "10.0.0.9:6380");
  CHECK(redis.database == 3);
  CHECK(redis.username == "larder");
  CHECK(redis.password == "s3cret");  // trailing newline stripped
  CHECK(redis.timeout == 40ms);
  CHECK(redis.connections == 4);
  CHECK(redis.breaker_failures == 3);
  CHECK(redis.breaker_cooldown == 2s);
  CHECK(config->store.memory_max_size == 128ull << 20);
  CHECK(config->store.on_failure == StoreFailureMode::kReject);

  CHECK(config->cache.key_prefix == "prod-2");
  CHECK(config->cache.max_object_size == 2ull << 20);
  CHECK(config->cache.stale_while_revalidate == 10s);
  CHECK(config->cache.stale_if_error == 1min);
  CHECK(config->cache.lock_timeout == 3s);
  CHECK(config->cache.status_header == "X-Larder");
  CHECK(config->cache.memory_tier_size == 16ull << 20);
  CHECK(config->cache.surrogate_keys.enabled);
  CHECK(config->cache.surrogate_keys.header == "X-Cache-Tags");
  CHECK_FALSE(config->cache.surrogate_keys.strip);

  REQUIRE(config->routes.size() == 3);
  const Route& items = config->routes[0];
  CHECK(items.match_text == "GET|HEAD /api/items/{id}");
  CHECK(items.methods == std::vector<std::string>{"GET", "HEAD"});
  CHECK(items.line == 33);
  CHECK(items.isRead());
  CHECK(items.ttl_from_upstream);
  CHECK_FALSE(items.ttl.has_value());
  CHECK(items.max_ttl == std::chrono::hours(24));
  REQUIRE(items.namespaces.size() == 2);
  CHECK(items.namespaces[1].text() == "item:{id}");
  CHECK(items.vary == std::vector<std::string>{"accept-language", "x-tenant"});
  CHECK(items.query.mode == QueryPolicy::Mode::kIgnore);
  CHECK(items.query.patterns == std::vector<std::string>{"utm_*", "fbclid"});
  REQUIRE(items.per_user.has_value());
  CHECK(items.per_user->kind == PrincipalSource::Kind::kJwtClaim);
  CHECK(items.per_user->claim == "sub");
  CHECK(items.per_user->name == "X-Token");
  CHECK(items.statuses == std::vector<int>{200, 203, 404});
  CHECK(items.heuristic == 0.1);
  CHECK(items.stale_while_revalidate == 30s);
  CHECK(items.stale_if_error == 5min);
  CHECK(items.memory_ttl == 2s);

  const Route& me = config->routes[1];
  CHECK(me.ttl == 1min);
  CHECK(me.per_user->kind == PrincipalSource::Kind::kCookie);
  CHECK(me.per_user->name == "session");
  CHECK(me.query.mode == QueryPolicy::Mode::kKeepOnly);
  CHECK(me.ignore_upstream_cache_control);
  CHECK_FALSE(me.statuses.has_value());  // the default: 200 on a fixed-TTL route
  CHECK_FALSE(me.stale_if_error.has_value());
  CHECK_FALSE(me.memory_ttl.has_value());

  const Route& write = config->routes[2];
  CHECK_FALSE(write.isRead());
  CHECK(write.invalidates.size() == 2);

  CHECK((config->log.level ==
         larder::base::LogLevel::kDebug));  // toString(LogLevel) confuses doctest
  CHECK(config->log.error_log == "/var/log/larder/error.log");
  CHECK(config->log.access_log == "off");
  CHECK(config->log.rate_limit == 3);
  REQUIRE(config->admin.listen.has_value());
  CHECK(config->admin.listen->path == "/run/larder-admin.sock");
  CHECK(config->admin.token == "tok");
}

TEST_CASE("small variants of the schema load") {
  CHECK(loadOrFail(kUpstreamYaml + "workers: auto\n")->server.workers == 0);
  CHECK_FALSE(loadOrFail(kUpstreamYaml + "admin: { listen: \"off\" }\n")->admin.listen.has_value());
  CHECK_FALSE(loadOrFail(kUpstreamYaml + "admin: { listen: off }\n")->admin.listen.has_value());
  auto jwt =
      loadOrFail(kUpstreamYaml + "routes:\n  - { match: GET /a, ttl: 1s, per_user: { jwt_claim: sub } }\n");
  CHECK(jwt->routes[0].per_user->name == "Authorization");
  auto unix = loadOrFail(kUpstreamYaml + "store: { redis: { url: \"unix:///run/redis/redis.sock?db=2\" } }\n");
  CHECK(unix->store.redis->address.path == "/run/redis/redis.sock");
  CHECK(unix->store.redis->database == 2);
  CHECK(loadOrFail(kUpstreamYaml + "routes: []\n")->routes.empty());
  CHECK(loadOrFail(kUpstreamYaml + "routes:\n  - match: POST /api/ping\n")->routes.size() == 1);
  CHECK(loadOrFail("# only a comment\n" + kUpstreamYaml)->upstream.servers.size() == 1);
  CHECK_FALSE(loadOrFail(kUpstreamYaml + "cache: { surrogate_keys: off }\n")->cache.surrogate_keys.enabled);
  auto tags = loadOrFail(kUpstreamYaml + "cache: { surrogate_keys: { header: xkey } }\n");
  CHECK(tags->cache.surrogate_keys.header == "xkey");
  CHECK(tags->cache.surrogate_keys.strip);
  CHECK(loadOrFail(kUpstreamYaml + "cache: { surrogate_keys: {} }\n")->cache.surrogate_keys.enabled);
}

TEST_CASE("each class of mistake gets an error naming the key, at its line and column") {
  struct Row {
    std::string yaml;
    std::string_view message;  // a substring of the message
    int line;
    int column;
  };
  const std::string route = kUpstreamYaml + "routes:\n";  // routes[0] starts on line 4
  const Row rows[] = {
      // syntax
      {"listen: [unclosed\n", "YAML syntax error", 2, 1},
      {"a: b\n c: d\n", "YAML syntax error", 2, 3},
      {kUpstreamYaml + "---\nlisten: 0.0.0.0:1\n", "more than one YAML document", 3, 1},
      // yaml-cpp 0.7's LoadAll would loop forever on these (yaml-cpp #1040)
      {",\n", "YAML syntax error: unexpected token", 1, 1},
      {kUpstreamYaml + ",\n", "YAML syntax error", 0, 0},
      // structure
      {"", "upstream: missing", 0, 0},
      {"- a\n- b\n", "expected a mapping, got a list", 1, 1},
      {"upstream:\n  keepalve: 3\n  servers: [127.0.0.1:1]\n",
       "unknown key upstream.keepalve (did you mean keepalive?)", 2, 3},
      {kUpstreamYaml + "lissten: 0.0.0.0:1\n", "unknown key lissten (did you mean listen?)", 3, 1},
      {kUpstreamYaml + "colour: blue\n", "unknown key colour", 3, 1},
      {kUpstreamYaml + "upstream: {servers: [127.0.0.1:1]}\n", "upstream: duplicate key", 3, 1},
      {kUpstreamYaml + "? [a]\n: b\n", "keys must be strings", 3, 3},
      // wrong types
      {kUpstreamYaml + "listen: [0.0.0.0:1]\n", "listen: expected an address, got a list", 3, 9},
      {kUpstreamYaml + "timeouts: 10s\n", "timeouts: expected a mapping, got a scalar", 3, 11},
      {kUpstreamYaml + "workers: many\n", "workers: expected \"auto\" or a number", 3, 10},
      {kUpstreamYaml + "workers: 1.5\n", "workers: expected \"auto\" or a number", 3, 10},
      {kUpstreamYaml + "max_connections: {a: 1}\n", "max_connections: expected a number, got a mapping",
       3, 18},
      {kUpstreamYaml + "routes: {match: GET /}\n", "routes: expected a list of routes", 3, 9},
      {route + "  - GET /api\n", "routes[0]: expected a mapping, got a scalar", 4, 5},
      {route + "  - { match: GET /a, ttl: 1s, ignore_upstream_cache_control: yes }\n",
       "routes[0].ignore_upstream_cache_control: expected true or false", 4, 62},
      {route + "  - { match: GET /a, ttl: 1s, client_no_cache: sometimes }\n",
       "routes[0].client_no_cache: must be \"ignore\" or \"honour\", not \"sometimes\"", 4, 48},
      {route + "  - { match: GET /a, ttl: 1s, namespaces: products }\n",
       "routes[0].namespaces: expected a list", 4, 43},
      {route + "  - { match: GET /a, ttl: 1s, namespaces: [[x]] }\n",
       "routes[0].namespaces[0]: expected a string, got a list", 4, 44},
      {kUpstreamYaml + "log: { level: loud }\n", "log.level: expected debug, info, warn, error or off",
       3, 15},
      {kUpstreamYaml + "store: { on_failure: retry }\n", "store.on_failure: expected bypass or reject",
       3, 22},
      {kUpstreamYaml + "log: { error_log: }\n", "log.error_log: expected a string, got nothing", 3, 8},
      {kUpstreamYaml + "log: { rate_limit: lots }\n", "log.rate_limit", 3, 20},
      {kUpstreamYaml + "log: { rate_limit: -1 }\n", "log.rate_limit", 3, 20},
      // bad values
      {kUpstreamYaml + "timeouts: { idle: 5 minutes }\n",
       "timeouts.idle: invalid duration \"5 minutes\"", 3, 19},
      {kUpstreamYaml + "timeouts: { header: 10 }\n",
       "timeouts.header: invalid duration \"10\": missing unit", 3, 21},
      {kUpstreamYaml + "timeouts: { header: 0s }\n", "timeouts.header: must be greater than 0", 3, 21},
      {kUpstreamYaml + "timeouts: { body: -1s }\n", "timeouts.body: invalid duration \"-1s\"", 3, 19},
      {kUpstreamYaml + "limits: { max_body_size: 1GB }\n",
       "limits.max_body_size: invalid size \"1GB\": ambiguous unit", 3, 26},
      {kUpstreamYaml + "limits: { max_header_size: 100 }\n",
       "limits.max_header_size: must be at least 1KiB", 3, 28},
      {kUpstreamYaml + "cache: { max_object_size: lots }\n",
       "cache.max_object_size: invalid size \"lots\"", 3, 27},
      {kUpstreamYaml + "cache: { max_object_size: 0 }\n",
       "cache.max_object_size: must be greater than 0", 3, 27},
      {kUpstreamYaml + "cache: { key_prefix: \"a b\" }\n", "cache.key_prefix: may contain only", 3, 22},
      {kUpstreamYaml + "cache: { status_header: \"X Cache\" }\n",
       "cache.status_header: is not a valid header name", 3, 25},
      {kUpstreamYaml + "cache: { surrogate_keys: on }\n",
       "cache.surrogate_keys: expected off or a mapping { header, strip }, got \"on\"", 3, 26},
      {kUpstreamYaml + "cache: { surrogate_keys: [Surrogate-Key] }\n",
       "cache.surrogate_keys: expected a mapping, got a list", 3, 26},
      {kUpstreamYaml + "cache: { surrogate_keys: { heder: X-Tags } }\n",
       "unknown key cache.surrogate_keys.heder (did you mean header?)", 3, 28},
      {kUpstreamYaml + "cache: { surrogate_keys: { header: \"Surrogate Key\" } }\n",
       "cache.surrogate_keys.header: is not a valid header name", 3, 36},
      {kUpstreamYaml + "cache: { surrogate_keys: { header: \"\" } }\n",
       "cache.surrogate_keys.header: must not be empty", 3, 36},
      {kUpstreamYaml + "cache: { surrogate_keys: { header: content-length } }\n",
       "cache.surrogate_keys.header: names a field larder itself reads or writes", 3, 36},
      {kUpstreamYaml + "cache: { status_header: X-Tags, surrogate_keys: { header: x-tags } }\n",
       "cache.surrogate_keys.header: names a field larder itself reads or writes", 3, 59},
      {kUpstreamYaml + "cache: { surrogate_keys: { strip: sometimes } }\n",
       "cache.surrogate_keys.strip: expected true or false", 3, 35},
      {kUpstreamYaml + "listen: 0.0.0.0\n", "listen: invalid address \"0.0.0.0\": missing port", 3, 9},
      {kUpstreamYaml + "listen: 0.0.0.0:0\n", "listen: invalid address \"0.0.0.0:0\": port must be", 3,
       9},
      {kUpstreamYaml + "listen: 0.0.0.0:99999\n", "port must be a number from 1 to 65535", 3, 9},
      {kUpstreamYaml + "workers: 0\n", "workers: must be from 1 to 1024, got 0", 3, 10},
      {kUpstreamYaml + "workers: 1025\n", "workers: must be from 1 to 1024", 3, 10},
      {kUpstreamYaml + "max_connections: 0\n", "max_connections: must be from 1", 3, 18},
      {kUpstreamYaml + "admin: { listen: 0.0.0.0:8080 }\n",
       "admin.listen: is the same address as listen", 3, 18},
      {"upstream: { servers: [localhost] }\n",
       "upstream.servers[0]: invalid address \"localhost\": missing port", 1, 23},
      {"upstream:\n  host: \"a\\r\\nX: y\"\n  servers: [h:1]\n", "upstream.host: must not contain",
       2, 9},
      {"upstream: {}\n", "upstream.servers: missing", 1, 11},
      {"upstream:\n", "upstream.servers: missing", 1, 1},  // an empty value: its key
      {"upstream: { servers: [] }\n", "upstream.servers: empty", 1, 22},
      {"upstream: { servers: 127.0.0.1:1 }\n", "upstream.servers: expected a list", 1, 22},
      {"listen: 0.0.0.0:1\n", "upstream: missing", 1, 1},
      // store.redis
      {kUpstreamYaml + "store: { redis: { url: \"redis://u:pw@h:1/0\" } }\n",
       "store.redis.url: invalid URL: the URL contains a password; use password_file or "
       "password_env",
       3, 24},
      {kUpstreamYaml + "store: { redis: { url: \"redis://h\", password: pw } }\n",
       "store.redis.password: a password must not be written in the config; use password_file or "
       "password_env",
       3, 47},
      {kUpstreamYaml +
           "store: { redis: { url: \"redis://h\", password_file: /nonexistent/larder.pass } }\n",
       "store.redis.password_file: cannot read \"/nonexistent/larder.pass\"", 3, 52},
      {kUpstreamYaml + "store: { redis: { url: \"redis://h\", password_file: /tmp } }\n",
       "store.redis.password_file: \"/tmp\" is not a regular file", 3, 52},
      {kUpstreamYaml +
           "store: { redis: { url: \"redis://h\", password_env: LARDER_TEST_UNSET_VARIABLE } }\n",
       "store.redis.password_env: environment variable LARDER_TEST_UNSET_VARIABLE is not set", 3,
       51},
      {kUpstreamYaml + "store: { redis: { url: \"redis://h\", password_env: A, password_file: B } }\n",
       "set password_file or password_env, not both", 3, 51},
      {kUpstreamYaml + "store: { redis: { timeout: 25ms } }\n", "store.redis.url: missing", 3, 17},
      {kUpstreamYaml + "store: { redis: }\n", "store.redis: empty (remove it", 3, 10},
      {kUpstreamYaml + "store: { redis: { url: \"rediss://h\" } }\n", "TLS (rediss://) is not supported",
       3, 24},
      {kUpstreamYaml + "store: { redis: { url: \"redis://h\", connections: 0 } }\n",
       "store.redis.connections: must be from 1 to 64", 3, 50},
      {kUpstreamYaml +
           "store: { redis: { url: \"redis://h\", breaker: { failures: 5, cooldwn: 1s } } }\n",
       "unknown key store.redis.breaker.cooldwn (did you mean cooldown?)", 3, 61},
      // routes
      {route + "  - ttl: 5m\n", "routes[0].match: missing", 4, 5},
      {route + "  - match: /api\n", "routes[0].match: expected \"METHODS /path\"", 4, 12},
      {route + "  - match: GET /a /b\n", "routes[0].match: expected \"METHODS /path\"", 4, 12},
      {route + "  - match: FETCH /api\n", "routes[0].match: unknown method \"FETCH\"", 4, 12},
      {route + "  - match: get /api\n    ttl: 1s\n",
       "unknown method \"get\" (expected GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS, in upper "
       "case)",
       4, 12},
      {route + "  - match: GET|GET /api\n    ttl: 1s\n", "method GET is listed twice", 4, 12},
      {route + "  - match: GET api\n    ttl: 1s\n",
       "routes[0].match: invalid path: path must start with '/'", 4, 12},
      {route + "  - match: GET /api/{id\n    ttl: 1s\n", "routes[0].match: invalid path", 4, 12},
      {route + "  - match: GET /api\n", "routes[0].ttl: missing (a GET/HEAD route needs a ttl", 4,
       5},
      {route + "  - match: GET /api\n    ttl: 0s\n", "routes[0].ttl: must be greater than 0", 5,
       10},
      {route + "  - match: GET /api\n    ttl: 1s\n    memory_ttl: 0s\n",
       "routes[0].memory_ttl: must be greater than 0", 6, 17},
      {route + "  - match: GET /api\n    ttl: 1s\n    memory_ttl: forever\n",
       "routes[0].memory_ttl: invalid duration \"forever\"", 6, 17},
      {kUpstreamYaml + "cache: { memory_tier_size: huge }\n",
       "cache.memory_tier_size: invalid size \"huge\"", 3, 28},
      {route + "  - match: GET /api\n    ttl: 5 minutes\n",
       "routes[0].ttl: invalid duration \"5 minutes\"", 5, 10},
      {route + "  - match: GET /api\n    ttl: 1h\n    max_ttl: 1m\n",
       "routes[0].max_ttl: is less than ttl", 6, 14},
      {route + "  - match: POST /api\n    ttl: 5m\n",
       "routes[0].ttl: only allowed on GET/HEAD routes; this route matches POST", 5, 10},
      {route + "  - match: PUT|DELETE /api\n    vary: [Accept]\n",
       "routes[0].vary: only allowed on GET/HEAD routes; this route matches PUT|DELETE", 5, 11},
      {route + "  - match: GET /api\n    ttl: 1s\n    invalidates: [x]\n",
       "routes[0].invalidates: not allowed on a GET/HEAD route", 6, 18},
      {route + "  - match: GET|POST /api\n    invalidates: [x]\n",
       "routes[0].invalidates: this route also matches GET/HEAD", 5, 18},
      {route + "  - match: GET /api/{id}\n    ttl: 1s\n    namespaces: [\"item:{sku}\"]\n",
       "routes[0].namespaces: invalid template \"item:{sku}\": {sku} is not a parameter", 6, 18},
      {route + "  - match: DELETE /api/{id}\n    invalidates: [\"item:{ID}\"]\n",
       "routes[0].invalidates: invalid template", 5, 19},
      {route + "  - match: GET /api\n    ttl: 1s\n    vary: [\"Accept Language\"]\n",
       "is not a valid header name", 6, 12},
      {route + "  - match: GET /api\n    ttl: 1s\n    vary: [accept, Accept]\n",
       "\"Accept\" is listed twice", 6, 20},
      {route + "  - match: GET /api\n    ttl: 1s\n    query: { keep: [a], ignore: [b] }\n",
       "routes[0].query.ignore: set keep or ignore, not both", 6, 33},
      {route + "  - match: GET /api\n    ttl: 1s\n    query: {}\n",
       "routes[0].query: expected keep: [...] or ignore: [...]", 6, 12},
      {route + "  - match: GET /api\n    ttl: 1s\n    query: { ignore: [\"*utm\"] }\n",
       "'*' is only allowed at the end", 6, 23},
      {route + "  - match: GET /api\n    ttl: 1s\n    query: { drop: [a] }\n",
       "unknown key routes[0].query.drop", 6, 14},
      {route + "  - match: GET /api\n    ttl: 1s\n    per_user: {}\n",
       "routes[0].per_user: expected header, cookie or jwt_claim", 6, 15},
      {route + "  - match: GET /api\n    ttl: 1s\n    per_user: { header: a, cookie: b }\n",
       "routes[0].per_user.header: set header or cookie, not both", 6, 25},
      {route + "  - match: GET /api\n    ttl: 1s\n    per_user: { cookie: \"\" }\n",
       "routes[0].per_user.cookie: must not be empty", 6, 25},
      {route + "  - match: GET /api\n    ttl: 1s\n    statuses: [200, 99]\n",
       "routes[0].statuses[1]: must be from 200 to 599", 6, 21},
      {route + "  - match: GET /api\n    ttl: 1s\n    statuses: [206]\n",
       "routes[0].statuses[0]: 206 cannot be cached", 6, 16},
      {route + "  - match: GET /api\n    ttl: 1s\n    statuses: []\n",
       "routes[0].statuses: expected a non-empty list", 6, 15},
      {route + "  - match: GET /api\n    ttl: upstream\n    heuristic: 10\n",
       "routes[0].heuristic: expected a percentage from 1% to 100% or off, got \"10\"", 6, 16},
      {route + "  - match: GET /api\n    ttl: upstream\n    heuristic: 0%\n",
       "routes[0].heuristic: expected a percentage", 6, 16},
      {route + "  - match: GET /api\n    ttl: upstream\n    heuristic: 101%\n",
       "routes[0].heuristic: expected a percentage", 6, 16},
      {route + "  - match: GET /api\n    ttl: upstream\n    heuristic: [10%]\n",
       "routes[0].heuristic", 6, 16},
      {route + "  - match: GET /api\n    ttl: 1m\n    heuristic: 10%\n",
       "routes[0].heuristic: only applies to ttl: upstream", 6, 16},
      {route + "  - match: PUT /api\n    heuristic: 10%\n",
       "routes[0].heuristic: only allowed on GET/HEAD routes", 5, 16},
      {kUpstreamYaml + "cache: { targeted_cache_control: [\"Bad Name\"] }\n",
       "cache.targeted_cache_control: \"Bad Name\" is not a valid header name", 3, 35},
      {kUpstreamYaml + "cache: { targeted_cache_control: [Cache-Control] }\n",
       "\"Cache-Control\" is not a targeted cache-control field", 3, 35},
      {kUpstreamYaml + "cache: { targeted_cache_control: [A-CC, a-cc] }\n",
       "\"a-cc\" is listed twice", 3, 41},
      {kUpstreamYaml + "cache: { cache_status: \"\" }\n", "cache.cache_status: must not be empty", 3, 24},
      {kUpstreamYaml + "cache: { cache_status: \"a\\tb\" }\n", "cache.cache_status: must be printable ASCII", 3, 24},
      {kUpstreamYaml + "cache: { targeted_cache_control: CDN-Cache-Control }\n",
       "cache.targeted_cache_control", 3, 34},
      {route + "  - match: GET /api\n    ttl: upstream\n    ignore_upstream_cache_control: true\n",
       "contradicts ttl: upstream", 6, 36},
      {route + "  - match: GET /api\n    ttl: 1s\n    tll: 2s\n",
       "unknown key routes[0].tll (did you mean ttl?)", 6, 5},
      {route + "  - { match: GET /a, ttl: 1s }\n  - { match: GET|HEAD /a, ttl: 2s }\n",
       "routes[1].match: unreachable: routes[0] (line 4)", 5, 5},
      {route + "  -\n", "routes[0]: empty route", 0, 0},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    const auto errors = errorListOf(row.yaml);
    const auto found = std::find_if(errors.begin(), errors.end(), [&](const ConfigError& e) {
      return e.message.find(row.message) != std::string::npos;
    });
    INFO("errors:\n" << joined(errors));
    REQUIRE(found != errors.end());
    CHECK(found->file == "conf.yaml");
    if (row.line != 0) {
      CHECK(found->line == row.line);
      CHECK(found->column == row.column);
    }
  }
}

TEST_CASE("ttl: upstream routes: heuristic and statuses defaults, targeted fields") {
  auto config = loadOrFail(kUpstreamYaml + R"(cache:
  targeted_cache_control: [My-CC, CDN-Cache-Control]
routes:
  - match: GET /a
    ttl: upstream
  - match: GET /b
    ttl: upstream
    heuristic: 25%
    statuses: [200, 404]
  - match: GET /c
    ttl: upstream
    heuristic: off
)");
  CHECK(config->cache.targeted_cache_control == std::vector<std::string>{"My-CC", "CDN-Cache-Control"});
  CHECK(config->routes[0].heuristic == 0.1);
  CHECK_FALSE(config->routes[0].statuses.has_value());
  CHECK(config->routes[1].heuristic == 0.25);
  CHECK(config->routes[1].statuses == std::vector<int>{200, 404});
  CHECK_FALSE(config->routes[2].heuristic.has_value());
  CHECK(loadOrFail(kUpstreamYaml + "cache: { targeted_cache_control: [] }\n")->cache.targeted_cache_control.empty());
  CHECK(loadOrFail(kUpstreamYaml)->cache.cache_status == "larder");
  CHECK(loadOrFail(kUpstreamYaml + "cache: { cache_status: off }\n")->cache.cache_status.empty());
  CHECK(loadOrFail(kUpstreamYaml + "cache: { cache_status: edge-1 }\n")->cache.cache_status == "edge-1");
  CHECK(loadOrFail(kUpstreamYaml + "cache: { status_header: off }\n")->cache.status_header.empty());
  CHECK(loadOrFail(kUpstreamYaml)->cache.targeted_cache_control ==
        std::vector<std::string>{"Larder-Cache-Control", "CDN-Cache-Control"});
}

TEST_CASE("an error prints as FILE:LINE:COL: key path and problem") {
  const auto errors = errorListOf(kUpstreamYaml + "routes:\n  - match: GET /a\n    ttl: 5 minutes\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].toString() ==
        "conf.yaml:5:10: routes[0].ttl: invalid duration \"5 minutes\": "
        "unknown unit \" minutes\" (expected ms, s, m, h or d)");
  CHECK(ConfigError{"f.yaml", 0, 0, "boom"}.toString() == "f.yaml: boom");
  CHECK(ConfigError{"f.yaml", 3, 0, "boom"}.toString() == "f.yaml:3: boom");
}

TEST_CASE("all errors are reported together, in file order") {
  const auto errors = errorListOf(R"(listen: nowhere
workers: 0
upstream:
  servers: []
  keepalve: 2
timeouts: { idle: 1 minute }
routes:
  - match: GET /a/{id}
    namespaces: ["x:{nope}"]
  - match: FETCH /b
  - match: POST /c
    ttl: 1s
store: { redis: { url: "redis://:pw@h" } }
)");
  INFO(joined(errors));
  const std::vector<std::string_view> expected{
      "listen: invalid address",
      "workers: must be from 1",
      "upstream.servers: empty",
      "unknown key upstream.keepalve",
      "timeouts.idle: invalid duration",
      "routes[0].ttl: missing",
      "routes[0].namespaces: invalid template",
      "routes[1].match: unknown method",
      "routes[2].ttl: only allowed on GET/HEAD",
      "store.redis.url: invalid URL",
  };
  REQUIRE(errors.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    CAPTURE(i);
    CHECK(errors[i].message.find(expected[i]) != std::string::npos);
  }
  for (size_t i = 1; i < errors.size(); ++i) CHECK(errors[i - 1].line <= errors[i].line);
}

TEST_CASE("secrets come from password_file, password_env and token_file, never from the YAML") {
  TempDir dir;
  const std::string base = kUpstreamYaml + "store:\n  redis:\n    url: redis://127.0.0.1:6379/0\n";

  SUBCASE("password_file: trailing newlines are stripped") {
    const std::string file = dir.write("pass", "pa ss\r\n\n");
    CHECK(loadOrFail(base + "    password_file: " + file + "\n")->store.redis->password == "pa ss");
  }
  SUBCASE("an empty password_file is an error") {
    const std::string file = dir.write("empty", "\n");
    const auto errors = errorListOf(base + "    password_file: " + file + "\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("is empty") != std::string::npos);
  }
  SUBCASE("an unreadable password_file is an error") {
    const std::string file = dir.write("locked", "secret\n");
    std::filesystem::permissions(file, std::filesystem::perms::none);
    const bool can_read = ::access(file.c_str(), R_OK) == 0;  // root reads anyway
    const auto errors = errorListOf(base + "    password_file: " + file + "\n");
    if (!can_read) {
      REQUIRE(errors.size() == 1);
      CHECK(errors[0].message.find("cannot read") != std::string::npos);
    }
    const auto missing =
        errorListOf(base + "    password_file: " + (dir.path / "absent").string() + "\n");
    REQUIRE(missing.size() == 1);
    CHECK(missing[0].message.find("No such file") != std::string::npos);
  }
  SUBCASE("password_env") {
    ::setenv("LARDER_TEST_REDIS_PASSWORD", "from-env", 1);
    CHECK(loadOrFail(base + "    password_env: LARDER_TEST_REDIS_PASSWORD\n")->store.redis->password ==
          "from-env");
    ::setenv("LARDER_TEST_REDIS_PASSWORD", "", 1);
    CHECK(errorListOf(base + "    password_env: LARDER_TEST_REDIS_PASSWORD\n").size() == 1);
    ::unsetenv("LARDER_TEST_REDIS_PASSWORD");
  }
  SUBCASE("a password key or a password in the url never loads, and is not echoed") {
    const auto errors = errorListOf(base + "    password: hunter2\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("hunter2") == std::string::npos);
    const auto in_url =
        errorListOf(kUpstreamYaml + "store: { redis: { url: \"redis://admin:hunter2@h:1/0\" } }\n");
    REQUIRE(in_url.size() == 1);
    CHECK(in_url[0].message.find("hunter2") == std::string::npos);
  }
  SUBCASE("token_file") {
    const std::string file = dir.write("token", "abc\n");
    CHECK(loadOrFail(kUpstreamYaml + "admin: { token_file: " + file + " }\n")->admin.token == "abc");
    const auto errors =
        errorListOf(kUpstreamYaml + "admin: { token_file: " + (dir.path / "absent").string() + " }\n");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].message.find("admin.token_file: cannot read") != std::string::npos);
  }
}

TEST_CASE("loadConfigFile reports a missing or unreadable file") {
  auto missing = loadConfigFile("/nonexistent/larder.yaml");
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().size() == 1);
  CHECK(missing.error()[0].toString().find("/nonexistent/larder.yaml: cannot read") == 0);

  auto directory = loadConfigFile("/tmp");
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error()[0].message.find("directory") != std::string::npos);

  TempDir dir;
  auto bad = loadConfigFile(dir.write("bad.yaml", kUpstreamYaml + "workers: lots\n"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error()[0].file == (dir.path / "bad.yaml").string());
  CHECK(bad.error()[0].line == 3);
}

TEST_CASE("hostile input gives errors, never an exception") {
  const std::string inputs[] = {
      std::string("\0\xff\xfe", 3),
      "\t- a",
      std::string(5000, '['),
      std::string(5000, '{'),
      "a: &x [*x]\n",
      "a: *undefined\n",
      "!!binary listen: x\n",
      "upstream: &u { servers: [h:1] }\nadmin: *u\n",
      "routes: [" + std::string(100, '-') + "]\n",
      "%YAML 9.9\n---\na: b\n",
      "\"unterminated\n",
      // Found by the fuzzer: made yaml-cpp's LoadAll allocate until killed.
      std::string(",ps\0\0\0" "5m:\n !spstream:\n !servers 172:[.0erve, password", 53),
  };
  for (const std::string& input : inputs) {
    CAPTURE(input.substr(0, 40));
    LoadResult result = larder::base::Unexpected{std::vector<ConfigError>{}};
    CHECK_NOTHROW(result = loadConfigString(input, "fuzz.yaml"));
    CHECK_FALSE(result.ok());
  }
}

TEST_CASE("log.rate_limit: a number of lines per second, or off (0) for no limit") {
  CHECK(loadOrFail(kUpstreamYaml + "log: { rate_limit: off }\n")->log.rate_limit == 0);
  CHECK(loadOrFail(kUpstreamYaml + "log: { rate_limit: 0 }\n")->log.rate_limit == 0);
  CHECK(loadOrFail(kUpstreamYaml + "log: { rate_limit: 1000 }\n")->log.rate_limit == 1000);
}
