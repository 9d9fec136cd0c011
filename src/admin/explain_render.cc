// The two renderings of an Explanation: JSON for the admin API, and the
// text `larder explain` prints (format=text), so the CLI needs no JSON
// parser. Both show the same facts; neither shows a principal in clear
// (admin/explain.h).

#include <algorithm>

#include <fmt/format.h>

#include "admin/admin_api.h"
#include "admin/explain.h"
#include "base/log.h"

namespace larder::admin {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;
using std::chrono::seconds;


std::string jsonList(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const auto& item : items) {
    if (out.size() > 1) out += ',';
    out += jsonString(item);
  }
  return out + "]";
}

std::string jsonOptional(const std::optional<std::string>& value) {
  return value ? jsonString(*value) : std::string("null");
}

std::string seconds3(milliseconds value) { return fmt::format("{:.3f}", value.count() / 1000.0); }

std::string routeKind(const config::Route& route) {
  if (route.isRead()) return "read";
  if (!route.invalidates.empty()) return "write";
  return "pass";
}

std::string paramsText(const config::Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{}={}", name, value);
  }
  return out;
}

std::string methodsText(const config::Route& route) {
  std::string out;
  for (const auto& method : route.methods) {
    if (!out.empty()) out += '|';
    out += method;
  }
  return out;
}

// Why the route matched, in words: the first route (in file order) whose
// methods and pattern both match wins (config::Config::matchRoute).
std::string why(const Explanation& e) {
  if (e.route == nullptr) {
    std::string out = "no route matches";
    if (!e.method_mismatches.empty()) {
      out += fmt::format("; the path matches {} for other methods:", e.method_mismatches.size());
      for (const config::Route* route : e.method_mismatches) out += " '" + route->match_text + "'";
    }
    return out;
  }
  std::string out = fmt::format("first route whose methods ({}) include {} and whose pattern matches {}",
                                methodsText(*e.route), e.method, e.path);
  if (!e.params.empty()) out += " with " + paramsText(e.params);
  return out;
}

std::string decisionJson(const std::optional<cache::StoreDecisionRecord>& decision, base::WallTime now) {
  if (!decision) return "null";
  return fmt::format("{{\"stored\":{},\"reason\":{},\"status\":{},\"at\":{},\"seconds_ago\":{}}}",
                     decision->stored, jsonString(decision->reason), decision->status,
                     jsonString(base::rfc3339(decision->at)),
                     duration_cast<seconds>(now - decision->at).count());
}

std::string entryJson(const std::optional<ExplainEntry>& entry) {
  if (!entry) return "null";
  const ExplainEntry& e = *entry;
  return fmt::format(
      "{{\"status\":{},\"size\":{},\"stored_at\":{},\"age\":{},\"ttl\":{},\"fresh\":{},"
      "\"stale_for\":{},\"stale_while_revalidate\":{},\"stale_if_error\":{},\"etag\":{},"
      "\"last_modified\":{},\"cache_control\":{},\"identity_matches\":{},\"versions_hold\":{},"
      "\"surrogate_keys_checked\":{}}}",
      e.status, e.body_bytes, jsonString(base::rfc3339(e.stored_at)), e.age_seconds, seconds3(e.ttl),
      e.staleness.count() < 0, seconds3(std::max(e.staleness, milliseconds(0))),
      seconds3(e.stale_while_revalidate), seconds3(e.stale_if_error), jsonString(e.etag),
      jsonString(e.last_modified), jsonString(e.cache_control), e.identity_matches, e.versions_hold, e.verified);
}

std::string routeJson(const Explanation& e) {
  if (e.route == nullptr) return fmt::format("{{\"matched\":false,\"why\":{}}}", jsonString(why(e)));
  const config::Route& route = *e.route;
  std::string params = "{";
  for (const auto& [name, value] : e.params) {
    if (params.size() > 1) params += ',';
    params += jsonString(name) + ":" + jsonString(value);
  }
  params += "}";
  std::string invalidates;
  for (const auto& ns : route.invalidates) {
    if (!invalidates.empty()) invalidates += ',';
    invalidates += jsonString(ns.text());
  }
  return fmt::format("{{\"matched\":true,\"match\":{},\"methods\":{},\"line\":{},\"kind\":{},\"params\":{},"
                     "\"invalidates\":[{}],\"why\":{}}}",
                     jsonString(route.match_text), jsonList(route.methods), route.line,
                     jsonString(routeKind(route)), params, invalidates, jsonString(why(e)));
}

}  // namespace

std::string renderExplanationJson(const Explanation& e) {
  const base::WallTime now = base::WallClock::now();
  std::string vary = "[";
  for (const auto& part : e.vary) {
    if (vary.size() > 1) vary += ',';
    vary += fmt::format("{{\"name\":{},\"value\":{},\"absent\":{},\"digest\":{},\"from_upstream_vary\":{}}}",
                        jsonString(part.name), part.absent ? "null" : jsonString(part.value), part.absent,
                        part.digested, part.from_upstream);
  }
  vary += "]";
  std::string namespaces = "[";
  for (const auto& ns : e.namespaces) {
    if (namespaces.size() > 1) namespaces += ',';
    namespaces += fmt::format("{{\"name\":{},\"key\":{},\"version\":{},\"surrogate\":{}}}", jsonString(ns.name),
                              jsonString(ns.key), jsonOptional(ns.version), ns.surrogate);
  }
  namespaces += "]";
  std::string principal = "null";
  if (!e.principal_source.empty())
    principal = fmt::format("{{\"source\":{},\"digest\":{}}}", jsonString(e.principal_source),
                            jsonOptional(e.principal_digest));
  return fmt::format(
      "{{\"ok\":true,\"request\":{{\"method\":{},\"url\":{}}},\"verdict\":{},\"reason\":{},\"route\":{},"
      "\"forwarded\":{{\"host\":{},\"path\":{},\"query\":{},\"target\":{}}},"
      "\"query\":{{\"kept\":{},\"dropped\":{}}},"
      "\"key\":{{\"primary\":{},\"entry\":{},\"vary\":{},\"principal\":{}}},"
      "\"namespaces\":{},\"invalidates\":{},\"invalidation_pending\":{},\"store\":{},\"entry\":{},"
      "\"last_answer\":{}}}",
      jsonString(e.method), jsonString(e.url), jsonString(e.verdict), jsonString(e.reason), routeJson(e),
      jsonString(e.host), jsonString(e.path), jsonString(e.query), jsonString(e.forwarded_target),
      jsonList(e.query_kept), jsonList(e.query_dropped), jsonString(e.primary_key), jsonString(e.entry_key), vary,
      principal, namespaces, jsonList(e.invalidates), e.invalidation_pending,
      jsonString(e.store.empty() ? "not asked" : e.store), entryJson(e.entry), decisionJson(e.last_decision, now));
}

std::string renderExplanationText(const Explanation& e) {
  const base::WallTime now = base::WallClock::now();
  std::string out = fmt::format("{} {}\n", e.method, e.url);
  out += fmt::format("verdict:      {} ({})\n", e.verdict, e.reason);
  if (e.route != nullptr) {
    out += fmt::format("route:        {}  (line {}, {} route)\n", e.route->match_text, e.route->line,
                       routeKind(*e.route));
  } else {
    out += "route:        none\n";
  }
  out += fmt::format("  why:        {}\n", why(e));
  out += fmt::format("forwarded:    {} {} (Host {})\n", e.method, e.forwarded_target, e.host);
  if (!e.query_kept.empty() || !e.query_dropped.empty()) {
    auto join = [](const std::vector<std::string>& names) {
      std::string text;
      for (const auto& name : names) {
        if (!text.empty()) text += ", ";
        text += name;
      }
      return text.empty() ? std::string("-") : text;
    };
    out += fmt::format("query:        kept {}; dropped {}\n", join(e.query_kept), join(e.query_dropped));
  }
  for (const auto& part : e.vary) {
    std::string value = part.absent ? "(absent)" : part.digested ? "digest " + part.value : part.value;
    out += fmt::format("vary:         {}: {}{}\n", part.name, value, part.from_upstream ? "  (upstream's Vary)" : "");
  }
  if (!e.principal_source.empty())
    out += fmt::format("principal:    {}: {}\n", e.principal_source,
                       e.principal_digest ? "digest " + *e.principal_digest : std::string("none found"));
  if (!e.entry_key.empty()) out += fmt::format("key:          {}\n", e.entry_key);
  if (!e.namespaces.empty()) out += "namespaces:\n";
  size_t name_width = 0, key_width = 0;
  for (const auto& ns : e.namespaces) {
    name_width = std::max(name_width, ns.name.size());
    key_width = std::max(key_width, ns.key.size());
  }
  for (const auto& ns : e.namespaces)
    out += fmt::format("  {:<{}}  {:<{}}  {}{}\n", ns.name, name_width, ns.key, key_width,
                       ns.version ? *ns.version : std::string(e.store == "ok" ? "(absent)" : "(not read)"),
                       ns.surrogate ? "  (surrogate key)" : "");
  if (!e.invalidates.empty()) {
    out += "invalidates:\n";
    for (const auto& name : e.invalidates) out += "  " + name + "\n";
    out += "  (and what its answer names: Location, Content-Location, surrogate keys)\n";
  }
  if (e.store == "ok" && !e.entry) out += "entry:        none\n";
  if (e.entry) {
    const ExplainEntry& entry = *e.entry;
    std::string freshness = entry.staleness.count() < 0
                                ? fmt::format("fresh for {}s more", seconds3(-entry.staleness))
                                : fmt::format("stale for {}s", seconds3(entry.staleness));
    out += fmt::format("entry:        status {}, {} bytes, stored {}, age {}s, ttl {}s ({})\n", entry.status,
                       entry.body_bytes, base::rfc3339(entry.stored_at), entry.age_seconds, seconds3(entry.ttl),
                       freshness);
    out += fmt::format("  stale:      while-revalidate {}s, if-error {}s\n", seconds3(entry.stale_while_revalidate),
                       seconds3(entry.stale_if_error));
    out += fmt::format("  validators: ETag {}, Last-Modified {}\n", entry.etag.empty() ? "-" : entry.etag,
                       entry.last_modified.empty() ? "-" : entry.last_modified);
    if (!entry.identity_matches) out += "  identity:   another request's (digest collision): not served\n";
    if (!entry.versions_hold) out += "  versions:   invalidated since stored: not served\n";
  }
  if (e.last_decision) {
    out += fmt::format("last answer:  {}, status {}, {}s ago\n",
                       e.last_decision->stored ? std::string("stored")
                                               : "not stored (" + e.last_decision->reason + ")",
                       e.last_decision->status, duration_cast<seconds>(now - e.last_decision->at).count());
  } else if (!e.entry_key.empty()) {
    out += "last answer:  nothing recorded for this key in this process\n";
  }
  return out;
}

}  // namespace larder::admin
