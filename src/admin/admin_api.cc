#include "admin/admin_api.h"

#include "http/header_map.h"

#include <fmt/format.h>

#include "admin/purge.h"
#include "admin/status_page.h"
#include "base/log.h"
#include "base/metric_catalog.h"
#include "http/target.h"
#include "upstream/server_health.h"

namespace larder::admin {
namespace {

namespace m = base::metrics;

constexpr std::string_view kNamespacePrefix = "/purge/namespace/";
constexpr std::string_view kRecentPurgesPath = "/status/purges";

AdminResponse statusPage() {
  AdminResponse response;
  response.content_type = "text/html; charset=utf-8";
  response.body = std::string(statusPageHtml());
  // Inline script and style only; nothing is fetched from elsewhere.
  response.extra_headers = std::string(statusPageHeaders());
  return response;
}

AdminResponse json(int status, std::string body) {
  AdminResponse response;
  response.status = status;
  response.body = std::move(body);
  response.body += '\n';
  return response;
}

AdminResponse error(int status, std::string_view message, std::string extra_headers = {}) {
  AdminResponse response = json(status, fmt::format("{{\"ok\":false,\"error\":{}}}", jsonString(message)));
  response.extra_headers = std::move(extra_headers);
  return response;
}

// Constant time in the token's content (the length may leak).
bool equalsConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}


bool isReadMethod(std::string_view method) { return method == "GET" || method == "HEAD"; }

}  // namespace

std::string jsonString(std::string_view text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return out;
}

AdminApi::AdminApi(config::ConfigPtr config, cache::Store& store, PurgeReach reach,
                   const Readiness& readiness)
    : store_(store), reach_(reach), readiness_(readiness) {
  setConfig(std::move(config));
}

void AdminApi::setConfig(config::ConfigPtr config) {
  config_ = std::move(config);
  namespaces_ = std::make_shared<const config::NamespaceIndex>(config_->routes);
}

bool AdminApi::isAuthorized(const AdminRequest& request) const {
  const std::string& token = config_->admin.token;
  if (token.empty()) return true;
  std::string_view value = http::trimOws(request.authorization);
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) !=
        std::tolower(static_cast<unsigned char>(kScheme[i])))
      return false;
  return equalsConstantTime(http::trimOws(value.substr(kScheme.size())), token);
}

cache::Pending AdminApi::handle(const AdminRequest& request, Respond respond) {
  std::string_view target = request.target;
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = path.size() < target.size() ? target.substr(path.size() + 1) : "";
  if (path == "/explain") {  // admin/explain.h: a read that needs the token, like /metrics
    if (!isAuthorized(request)) {
      respond(error(401, "missing or wrong bearer token", "WWW-Authenticate: Bearer\r\n"));
      return {};
    }
    if (!isReadMethod(request.method)) {
      respond(error(405, "method not allowed", "Allow: GET, HEAD\r\n"));
      return {};
    }
    return explain(query, std::move(respond));
  }
  const bool is_purge = path == "/purge" || path == "/purge/all" || path.starts_with(kNamespacePrefix);
  const bool is_status = path == "/" || path == kRecentPurgesPath;
  const bool is_read = path == "/metrics" || path == "/healthz" || path == "/readyz" || is_status;
  if (!is_purge && !is_read) {
    respond(error(404, "not found; see GET /, /metrics, /healthz, /readyz and POST /purge/..."));
    return {};
  }
  // Health probes stay open; everything else needs the token when one is set.
  if ((is_purge || path == "/metrics" || path == kRecentPurgesPath) && !isAuthorized(request)) {
    LOG_WARN("admin: unauthorized {} {}", request.method, path);
    respond(error(401, "missing or wrong bearer token", "WWW-Authenticate: Bearer\r\n"));
    return {};
  }
  if (is_read && !isReadMethod(request.method)) {
    respond(error(405, "method not allowed", "Allow: GET, HEAD\r\n"));
    return {};
  }
  if (is_purge && request.method != "POST") {
    respond(error(405, "method not allowed; purges are POST", "Allow: POST\r\n"));
    return {};
  }

  if (path == "/healthz") {
    AdminResponse response;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "ok\n";
    respond(std::move(response));
    return {};
  }
  if (path == "/metrics") {
    AdminResponse response;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = base::renderMetrics();
    respond(std::move(response));
    return {};
  }
  if (path == "/readyz") return ready(std::move(respond));
  if (is_status) {
    respond(path == "/" ? statusPage() : json(200, history_.toJson()));
    return {};
  }

  std::string problem;
  std::optional<PurgeRequest> purge;
  if (path == "/purge/all") {
    purge = everythingPurge();
  } else if (path == "/purge") {
    std::string url;
    for (const auto& [name, value] : http::parseQuery(query)) {
      if (name != "url") continue;
      auto decoded = percentDecode(value);
      if (!decoded) {
        respond(error(400, "bad %-escape in the url parameter"));
        return {};
      }
      url = std::move(*decoded);
    }
    purge = urlPurge(url, problem);
  } else {
    purge = namespacePurge(path.substr(kNamespacePrefix.size()), problem);
  }
  if (!purge) {
    respond(error(400, problem));
    return {};
  }
  std::optional<bool> soft = softParameter(query, problem);
  if (!soft) {
    respond(error(400, problem));
    return {};
  }
  purge->soft = *soft;
  purge->at = base::WallClock::now();
  return this->purge(*purge, std::move(respond));
}

cache::Pending AdminApi::purge(const PurgeRequest& purge, Respond respond) {
  cache::Invalidation invalidation = makeInvalidation(config_->cache.key_prefix, purge);
  std::string key = invalidation.version_keys.front();
  cache::Invalidation copy = invalidation;
  if (reach_.tier != nullptr) reach_.tier->invalidate(invalidation.version_keys);
  // Pending from now until the store confirms it (DESIGN invariants 5 and
  // 13): a purge still in flight when larder stops (the admin thread stops
  // first, dropping its reply) is then written by worker 0's drain, not lost.
  if (reach_.backlog != nullptr) reach_.backlog->add(invalidation);
  std::optional<std::string> warning = purgeWarning(purge, *namespaces_);
  return store_.invalidate(
      std::move(copy), [this, purge, key, invalidation, warning = std::move(warning),
                        respond = std::move(respond)](cache::StoreStatus status) {
        const bool ok = status == cache::StoreStatus::kOk;
        m::purges.add(m::index(purge.scope, ok ? m::PurgeResult::kOk : m::PurgeResult::kFailed), 1);
        history_.add({purge.at, std::string(scopeName(purge.scope)), purge.subject, purge.soft, ok});
        std::string fields = fmt::format(
            "\"scope\":{},\"subject\":{},\"namespace\":{},\"key\":{},\"store\":{},\"soft\":{}",
            jsonString(scopeName(purge.scope)), jsonString(purge.subject), jsonString(purge.ns),
            jsonString(key), jsonString(store_.name()), purge.soft);
        if (warning) fields += fmt::format(",\"warning\":{}", jsonString(*warning));
        if (ok) {
          if (reach_.backlog != nullptr) reach_.backlog->resolve(invalidation);
          if (warning) LOG_WARN("admin: purge of namespace {}: {}", purge.ns, *warning);
          LOG_INFO("admin: purged {} {} (namespace {})", scopeName(purge.scope), purge.subject, purge.ns);
          respond(json(200, fmt::format("{{\"ok\":true,{}}}", fields)));
          return;
        }
        // DESIGN invariant 5: not dropped. It stays in the backlog, so this
        // instance does not serve the namespace; a worker retries until the
        // store takes it.
        LOG_WARN("admin: purge of {} could not reach the {} store; queued for retry", purge.ns,
                 store_.name());
        respond(json(503, fmt::format("{{\"ok\":false,{},\"error\":\"store unavailable\","
                                      "\"queued_for_retry\":{}}}",
                                      fields, reach_.backlog != nullptr ? "true" : "false")));
      });
}

cache::Pending AdminApi::ready(Respond respond) {
  const config::Config& config = *config_;
  const bool listening = readiness_.listening.load();
  // Each upstream server as passive health sees it: reported, like Redis,
  // without making larder unready (it still answers from cache).
  std::string upstreams;
  for (const auto& server : config.upstream.servers) {
    const std::string name = server.toString();
    if (!upstreams.empty()) upstreams += ",";
    upstreams += fmt::format("{{\"server\":{},\"up\":{}}}", jsonString(name),
                             upstream::serverHealth(name).isUp());
  }
  auto answer = [listening, has_redis = config.store.redis.has_value(), source = config.source_path,
                 upstreams = std::move(upstreams)](std::optional<bool> redis_reachable) {
    std::string redis = !has_redis ? "null" : (*redis_reachable ? "true" : "false");
    bool last_reload_ok = m::config_last_reload_successful.value() != 0;
    return json(listening ? 200 : 503,
                fmt::format("{{\"ready\":{},\"listening\":{},\"config_loaded\":true,\"config\":{},"
                            "\"last_reload_ok\":{},\"store\":{},\"redis_reachable\":{},\"upstream\":[{}]}}",
                            listening, listening, jsonString(source), last_reload_ok,
                            jsonString(has_redis ? "redis" : "memory"), redis, upstreams));
  };
  if (!config.store.redis) {
    respond(answer(std::nullopt));
    return {};
  }
  // A real round trip (bounded by store.redis.timeout): Redis is reported,
  // but its absence does not make larder unready (DESIGN invariant 5).
  std::string probe_key = config.cache.key_prefix + ":readyz";
  return store_.lookup({}, std::move(probe_key),
                       [answer, respond = std::move(respond)](cache::LookupResult&& result) {
                         respond(answer(result.status == cache::StoreStatus::kOk));
                       });
}

}  // namespace larder::admin
