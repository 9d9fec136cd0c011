#include "config/route_loader.h"

#include <fmt/format.h>
#include <algorithm>
#include <array>
#include <cctype>

#include "config/route_checks.h"
#include "http/header_map.h"

namespace larder::config {

namespace {

constexpr std::array<std::string_view, 7> kMethods{"GET",   "HEAD",   "POST",   "PUT",
                                                   "PATCH", "DELETE", "OPTIONS"};
constexpr std::array<std::string_view, 15> kReadKeys{"ttl",
                                                     "max_ttl",
                                                     "namespaces",
                                                     "vary",
                                                     "query",
                                                     "per_user",
                                                     "statuses",
                                                     "ignore_upstream_cache_control",
                                                     "stale_while_revalidate",
                                                     "stale_if_error",
                                                     "client_no_cache",
                                                     "memory_ttl",
                                                     "heuristic",
                                                     "mode",
                                                     "shadow_sample"};
constexpr size_t kMaxNameLength = 128;

bool isReadMethod(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool isToken(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// "N%" with N from 0 to 100.
bool parsePercent(const std::string& text, unsigned& percent) {
  const bool digits = text.size() >= 2 && text.size() <= 4 && text.back() == '%' &&
                      std::all_of(text.begin(), text.end() - 1, [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return false;
  percent = static_cast<unsigned>(std::stoul(text.substr(0, text.size() - 1)));
  return percent <= 100;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

class RouteLoader {
 public:
  RouteLoader(NodeReader& reader, const YAML::Node& node, std::string path,
              const RouteMatchingConfig& matching)
      : r_(reader), node_(node), m_(reader, node, path), path_(std::move(path)), matching_(matching) {}

  // Returns false when the route has an error (it is then not added).
  bool load(Route& route) {
    if (!m_.isMap()) {
      if (node_.IsNull()) r_.error(node_, path_, "empty route (expected match: \"METHOD /path\")");
      return false;
    }
    route.line = node_.Mark().line + 1;
    bool ok = loadMatch(route);
    const bool matched = ok;
    ok &= loadName(route);
    enum class Kind { kUnknown, kRead, kWrite };
    Kind kind = Kind::kUnknown;
    if (matched)
      kind = std::all_of(route.methods.begin(), route.methods.end(), isReadMethod) ? Kind::kRead
                                                                                   : Kind::kWrite;
    PathMatching matching = kind == Kind::kRead ? matching_.reads : matching_.writes;
    ok &= loadPathMatching(r_, m_, matching);
    route.pattern.setMatching(matching);

    for (std::string_view key : kReadKeys) {
      auto value = m_.take(key);
      if (!value) continue;
      if (kind == Kind::kWrite) {
        r_.error(*value, m_.pathOf(key),
                 "only allowed on GET/HEAD routes; this route matches " + join(route.methods, "|"));
        ok = false;
        continue;
      }
      ok &= loadReadKey(key, *value, route, matched);
    }
    if (auto value = m_.take("invalidates")) {
      const bool any_read = std::any_of(route.methods.begin(), route.methods.end(), isReadMethod);
      if (kind == Kind::kRead) {
        r_.error(*value, m_.pathOf("invalidates"),
                 "not allowed on a GET/HEAD route (reads do not invalidate)");
        ok = false;
      } else if (any_read) {
        r_.error(*value, m_.pathOf("invalidates"),
                 "this route also matches GET/HEAD; put the write methods in a route of their own");
        ok = false;
      } else {
        ok &= loadTemplates(*value, m_.pathOf("invalidates"), route, matched, route.invalidates);
      }
    }
    if (kind == Kind::kRead && !m_.has("ttl")) {
      r_.error(node_, m_.pathOf("ttl"), "missing (a GET/HEAD route needs a ttl, or ttl: upstream)");
      ok = false;
    }
    if (route.ttl && route.max_ttl && *route.max_ttl < *route.ttl) {
      r_.error(*m_.take("max_ttl"), m_.pathOf("max_ttl"), "is less than ttl");
      ok = false;
    }
    if (route.ttl && m_.has("heuristic")) {
      r_.error(*m_.take("heuristic"), m_.pathOf("heuristic"),
               "only applies to ttl: upstream (a fixed ttl needs no heuristic)");
      ok = false;
    }
    if (!route.shadow && m_.has("shadow_sample")) {
      r_.error(*m_.take("shadow_sample"), m_.pathOf("shadow_sample"), "only applies to mode: shadow");
      ok = false;
    }
    if (route.ttl_from_upstream && route.ignore_upstream_cache_control) {
      r_.error(*m_.take("ignore_upstream_cache_control"),
               m_.pathOf("ignore_upstream_cache_control"),
               "contradicts ttl: upstream, which takes the TTL from the upstream's Cache-Control");
      ok = false;
    }
    return ok;
  }

 private:
  bool loadMatch(Route& route) {
    auto value = m_.take("match");
    const std::string path = m_.pathOf("match");
    if (!value) {
      r_.error(node_, path, "missing (expected \"METHOD /path\", e.g. \"GET /api/products/{id}\")");
      return false;
    }
    if (!r_.expectScalar(*value, path, "\"METHOD /path\"")) return false;
    const std::string& text = value->Scalar();
    route.match_text = text;
    const size_t space = text.find(' ');
    const size_t path_start = text.find_first_not_of(' ', space);
    if (space == std::string::npos || path_start == std::string::npos ||
        text.find(' ', path_start) != std::string::npos) {
      r_.error(*value, path,
               "expected \"METHODS /path\" (methods separated by '|'), got \"" + text + "\"");
      return false;
    }
    bool ok = true;
    std::string_view methods = std::string_view(text).substr(0, space);
    while (true) {
      const size_t bar = methods.find('|');
      const std::string_view method = methods.substr(0, bar);
      if (std::find(kMethods.begin(), kMethods.end(), method) == kMethods.end()) {
        std::string message = "unknown method \"" + std::string(method) + "\" (expected " +
                              "GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS";
        message += http::asciiLower(method) == method && !method.empty() ? ", in upper case)" : ")";
        r_.error(*value, path, message);
        ok = false;
      } else if (std::find(route.methods.begin(), route.methods.end(), method) !=
                 route.methods.end()) {
        r_.error(*value, path, "method " + std::string(method) + " is listed twice");
        ok = false;
      } else {
        route.methods.emplace_back(method);
      }
      if (bar == std::string_view::npos) break;
      methods.remove_prefix(bar + 1);
    }
    std::string error;
    if (!RoutePattern::parse(std::string_view(text).substr(path_start), route.pattern, error)) {
      r_.error(*value, path, "invalid path: " + error);
      ok = false;
    }
    return ok;
  }

  // `name:` (issue 15): a metrics label value and an access-log field, so
  // printable ASCII without quote or backslash, and neither of the label
  // values larder keeps for itself. Uniqueness: route_checks.cc.
  bool loadName(Route& route) {
    auto value = m_.take("name");
    if (!value) {
      route.name = route.match_text;
      return true;
    }
    const std::string path = m_.pathOf("name");
    if (!r_.readNonEmptyString(*value, path, route.name)) return false;
    const bool printable = std::all_of(route.name.begin(), route.name.end(), [](char c) {
      return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
    });
    if (!printable || route.name.size() > kMaxNameLength) {
      r_.error(*value, path,
               fmt::format("\"{}\": a route name is at most {} printable ASCII characters, "
                           "without '\"' or '\\'", route.name, kMaxNameLength));
      return false;
    }
    if (route.name == "-" || route.name == "other") {
      r_.error(*value, path, fmt::format("\"{}\" is reserved (the metrics' route label uses it)", route.name));
      return false;
    }
    return true;
  }

  // "cache" (the default) or "shadow".
  bool loadMode(const YAML::Node& value, const std::string& path, Route& route) {
    std::string mode;
    if (!r_.readString(value, path, mode)) return false;
    if (mode == "cache" || mode == "shadow") {
      route.shadow = mode == "shadow";
      return true;
    }
    r_.error(value, path, fmt::format("must be \"cache\" or \"shadow\", not \"{}\"", mode));
    return false;
  }

  bool loadReadKey(std::string_view key, const YAML::Node& value, Route& route, bool matched) {
    const std::string path = m_.pathOf(key);
    if (key == "mode") return loadMode(value, path, route);
    if (key == "shadow_sample") {
      std::string text;
      unsigned percent = 0;
      if (!r_.readString(value, path, text)) return false;
      if (!parsePercent(text, percent)) {
        r_.error(value, path, fmt::format("expected a percentage from 0% to 100%, got \"{}\"", text));
        return false;
      }
      route.shadow_sample = percent / 100.0;
      return true;
    }
    if (key == "ttl") {
      if (value.IsScalar() && value.Scalar() == "upstream") {
        route.ttl_from_upstream = true;
        return true;
      }
      Duration ttl{};
      // ttl 0 would ask the store for an entry that expires at once; a
      // route that should not cache can leave GET out of its methods.
      if (!r_.readPositiveDuration(value, path, ttl)) return false;
      route.ttl = ttl;
      return true;
    }
    if (key == "max_ttl") {
      Duration ttl{};
      if (!r_.readPositiveDuration(value, path, ttl)) return false;
      route.max_ttl = ttl;
      return true;
    }
    if (key == "namespaces") return loadTemplates(value, path, route, matched, route.namespaces);
    if (key == "vary") return loadVary(value, path, route);
    if (key == "query") return loadQuery(value, path, route);
    if (key == "per_user") return loadPerUser(value, path, route);
    if (key == "statuses") return loadStatuses(value, path, route);
    if (key == "heuristic") return loadHeuristic(value, path, route);
    if (key == "ignore_upstream_cache_control")
      return r_.readBool(value, path, route.ignore_upstream_cache_control);
    if (key == "client_no_cache") return loadClientNoCache(value, path, route);
    if (key == "memory_ttl") {
      Duration ttl{};
      if (!r_.readPositiveDuration(value, path, ttl)) return false;
      route.memory_ttl = ttl;
      return true;
    }
    Duration stale{};
    if (!r_.readDuration(value, path, stale)) return false;
    (key == "stale_while_revalidate" ? route.stale_while_revalidate : route.stale_if_error) = stale;
    return true;
  }

  // "ignore" (nginx and Varnish do) or "honour" (revalidate before answering).
  bool loadClientNoCache(const YAML::Node& value, const std::string& path, Route& route) {
    std::string mode;
    if (!r_.readString(value, path, mode)) return false;
    if (mode == "ignore" || mode == "honour" || mode == "honor") {
      route.honour_client_no_cache = mode != "ignore";
      return true;
    }
    r_.error(value, path, fmt::format("must be \"ignore\" or \"honour\", not \"{}\"", mode));
    return false;
  }

  // Templates can only be checked against the pattern's parameters when the
  // pattern parsed; otherwise only their shape is read.
  bool loadTemplates(const YAML::Node& value, const std::string& path, const Route& route,
                     bool matched, std::vector<Template>& out) {
    std::vector<std::pair<std::string, YAML::Node>> items;
    bool ok = r_.readStringList(value, path, items);
    if (!matched) return false;
    for (size_t i = 0; i < items.size(); ++i) {
      Template parsed;
      std::string error;
      if (Template::parse(items[i].first, route.pattern.paramNames(), parsed, error)) {
        out.push_back(std::move(parsed));
      } else {
        r_.error(items[i].second, path, "invalid template \"" + items[i].first + "\": " + error);
        ok = false;
      }
    }
    return ok;
  }

  bool loadVary(const YAML::Node& value, const std::string& path, Route& route) {
    std::vector<std::pair<std::string, YAML::Node>> items;
    bool ok = r_.readStringList(value, path, items);
    for (auto& [name, node] : items) {
      std::string lower = http::asciiLower(name);
      if (!isToken(name)) {
        r_.error(node, path, "\"" + name + "\" is not a valid header name");
        ok = false;
      } else if (std::find(route.vary.begin(), route.vary.end(), lower) != route.vary.end()) {
        r_.error(node, path, "\"" + name + "\" is listed twice");
        ok = false;
      } else {
        route.vary.push_back(std::move(lower));
      }
    }
    return ok;
  }

  bool loadQuery(const YAML::Node& value, const std::string& path, Route& route) {
    MapReader m(r_, value, path);
    auto keep = m.take("keep");
    auto ignore = m.take("ignore");
    if (!m.isMap()) return false;
    if (keep && ignore) {
      r_.error(*ignore, m.pathOf("ignore"), "set keep or ignore, not both");
      return false;
    }
    if (!keep && !ignore) {
      r_.error(value, path, "expected keep: [...] or ignore: [...]");
      return false;
    }
    const std::string list_path = m.pathOf(keep ? "keep" : "ignore");
    std::vector<std::pair<std::string, YAML::Node>> items;
    bool ok = r_.readStringList(keep ? *keep : *ignore, list_path, items);
    for (auto& [pattern, node] : items) {
      if (pattern.find('*') != pattern.size() - 1 && pattern.find('*') != std::string::npos) {
        r_.error(node, list_path, "\"" + pattern + "\": '*' is only allowed at the end");
        ok = false;
      } else {
        route.query.patterns.push_back(std::move(pattern));
      }
    }
    route.query.mode = keep ? QueryPolicy::Mode::kKeepOnly : QueryPolicy::Mode::kIgnore;
    return ok;
  }

  bool loadPerUser(const YAML::Node& value, const std::string& path, Route& route) {
    MapReader m(r_, value, path);
    auto header = m.take("header");
    auto cookie = m.take("cookie");
    auto claim = m.take("jwt_claim");
    if (!m.isMap()) return false;
    PrincipalSource source;
    bool ok = true;
    auto readToken = [&](const YAML::Node& node, std::string_view key, std::string& out) {
      if (!r_.readNonEmptyString(node, m.pathOf(key), out)) return false;
      if (isToken(out)) return true;
      r_.error(node, m.pathOf(key), "\"" + out + "\" is not a valid name");
      return false;
    };
    if (claim) {
      source.kind = PrincipalSource::Kind::kJwtClaim;
      source.name = "Authorization";
      ok &= readToken(*claim, "jwt_claim", source.claim);
      if (header) ok &= readToken(*header, "header", source.name);
      if (cookie) {
        r_.error(*cookie, m.pathOf("cookie"), "set cookie or jwt_claim, not both");
        ok = false;
      }
    } else if (cookie) {
      source.kind = PrincipalSource::Kind::kCookie;
      ok &= readToken(*cookie, "cookie", source.name);
      if (header) {
        r_.error(*header, m.pathOf("header"), "set header or cookie, not both");
        ok = false;
      }
    } else if (header) {
      source.kind = PrincipalSource::Kind::kHeader;
      ok &= readToken(*header, "header", source.name);
    } else {
      r_.error(value, path, "expected header, cookie or jwt_claim");
      return false;
    }
    if (ok) route.per_user = std::move(source);
    return ok;
  }

  // "10%" (the customary fraction, RFC 9111 §4.2.2) or "off".
  bool loadHeuristic(const YAML::Node& value, const std::string& path, Route& route) {
    std::string text;
    if (!r_.readString(value, path, text)) return false;
    if (text == "off") {
      route.heuristic.reset();
      return true;
    }
    unsigned percent = 0;
    if (!parsePercent(text, percent) || percent == 0) {
      r_.error(value, path, fmt::format("expected a percentage from 1% to 100% or off, got \"{}\"", text));
      return false;
    }
    route.heuristic = percent / 100.0;
    return true;
  }

  bool loadStatuses(const YAML::Node& value, const std::string& path, Route& route) {
    if (!value.IsSequence() || value.size() == 0) {
      r_.error(value, path, "expected a non-empty list of status codes");
      return false;
    }
    std::vector<int> statuses;
    bool ok = true;
    size_t index = 0;
    for (const YAML::Node& item : value) {
      const std::string item_path = path + "[" + std::to_string(index++) + "]";
      unsigned status = 0;
      if (!r_.readUnsigned(item, item_path, 200, 599, status)) {
        ok = false;
      } else if (status == 206 || status == 304) {
        // A partial or not-modified answer is not a whole response to replay.
        r_.error(item, item_path, std::to_string(status) + " cannot be cached as a whole response");
        ok = false;
      } else if (std::find(statuses.begin(), statuses.end(), static_cast<int>(status)) !=
                 statuses.end()) {
        r_.error(item, item_path, "listed twice");
        ok = false;
      } else {
        statuses.push_back(static_cast<int>(status));
      }
    }
    route.statuses = std::move(statuses);
    return ok;
  }

  NodeReader& r_;
  YAML::Node node_;
  MapReader m_;
  std::string path_;
  const RouteMatchingConfig& matching_;
};

}  // namespace

bool loadPathMatching(NodeReader& reader, MapReader& m, PathMatching& out) {
  bool ok = true;
  auto choose = [&](std::string_view key, std::string_view lenient, std::string_view strict,
                    bool& value) {
    auto node = m.take(key);
    if (!node) return;
    std::string text;
    if (!reader.readString(*node, m.pathOf(key), text)) {
      ok = false;
    } else if (text == lenient || text == strict) {
      value = text == lenient;
    } else {
      reader.error(*node, m.pathOf(key),
                   fmt::format("expected {} or {}, got \"{}\"", lenient, strict, text));
      ok = false;
    }
  };
  choose("trailing_slash", "ignore", "strict", out.ignore_trailing_slash);
  choose("case", "insensitive", "sensitive", out.case_insensitive);
  return ok;
}

void loadRouteMatching(NodeReader& reader, const YAML::Node& node, RouteMatchingConfig& out) {
  MapReader m(reader, node, "route_matching");
  for (std::string_view kind : {"reads", "writes"}) {
    auto value = m.take(kind);
    if (!value) continue;
    MapReader kind_map(reader, *value, m.pathOf(kind));
    loadPathMatching(reader, kind_map, kind == "reads" ? out.reads : out.writes);
  }
}

void loadRoutes(NodeReader& reader, const YAML::Node& node, const RouteMatchingConfig& matching,
                std::vector<Route>& routes) {
  if (node.IsNull()) return;
  if (!node.IsSequence()) {
    reader.error(node, "routes", "expected a list of routes");
    return;
  }
  std::vector<size_t> indexes;  // YAML index of each loaded route
  size_t index = 0;
  for (const YAML::Node& item : node) {
    Route route;
    if (RouteLoader(reader, item, "routes[" + std::to_string(index) + "]", matching).load(route)) {
      routes.push_back(std::move(route));
      indexes.push_back(index);
    }
    ++index;
  }
  checkRoutes(reader, node, routes, indexes);
}

}  // namespace larder::config
