#include "config/config.h"

#include <algorithm>

#include "http/header_map.h"
#include "http/override_fields.h"

namespace larder::config {

std::string Address::toString() const {
  if (kind == Kind::kUnix) return "unix:" + path;
  // A colon in the host means IPv6, which needs brackets to keep the port apart.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

namespace {

bool globMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    return name.starts_with(pattern.substr(0, pattern.size() - 1));
  }
  return pattern == name;
}

}  // namespace

bool QueryPolicy::keeps(std::string_view name) const {
  if (mode == Mode::kAll) return true;
  const bool listed =
      std::any_of(patterns.begin(), patterns.end(),
                  [&](const std::string& pattern) { return globMatches(pattern, name); });
  return mode == Mode::kKeepOnly ? listed : !listed;
}

bool RequestHeaderConfig::strips(std::string_view name) const {
  auto listed = [&](const std::vector<std::string>& names) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return http::equalsIgnoreCase(n, name); });
  };
  const bool stripped = http::isDefaultStripped(name) || http::hasUnderscore(name) || listed(strip);
  return stripped && !listed(forward);
}

bool Route::matchesMethod(std::string_view method) const {
  auto lists = [&](std::string_view m) {
    return std::find(methods.begin(), methods.end(), m) != methods.end();
  };
  // RFC 9110 §9.3.2: HEAD is GET without the body, so a GET route serves it.
  return lists(method) || (method == "HEAD" && lists("GET"));
}

const Route* Config::matchRoute(std::string_view method, std::string_view path,
                                Params& params) const {
  for (const Route& route : routes) {
    if (route.matchesMethod(method) && route.pattern.match(path, params)) return &route;
  }
  params.clear();
  return nullptr;
}

}  // namespace larder::config
