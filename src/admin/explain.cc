#include "admin/explain.h"

#include <algorithm>

#include "admin/purge.h"
#include "cache/digest.h"
#include "cache/entry_codec.h"
#include "cache/key.h"
#include "cache/policy.h"
#include "cache/revalidation.h"
#include "cache/versioned_insert.h"
#include "http/message.h"

namespace larder::admin {
namespace {

// RFC 9110 §5.6.2 tchar.
bool isToken(std::string_view text) {
  if (text.empty()) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool hasControlBytesButTab(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && byte != '\t') || byte == 0x7f;
  });
}

// "Name: value" -> (Name, value with OWS trimmed); the error names the problem.
bool parseField(std::string_view text, http::HeaderMap& headers, std::string& error) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    error = "bad header (want 'Name: value'): no colon";
    return false;
  }
  std::string_view name = text.substr(0, colon);
  if (!isToken(name)) {
    error = "bad header (want 'Name: value'): the name is not a token";
    return false;
  }
  std::string_view value = http::trimOws(text.substr(colon + 1));
  if (hasControlBytesButTab(value)) {
    error = "bad header: control characters in the value of " + std::string(name);
    return false;
  }
  headers.add(std::string(name), std::string(value));
  return true;
}

bool isPrivateField(std::string_view name, const config::Route* route) {
  for (std::string_view field : {"authorization", "proxy-authorization", "cookie"})
    if (http::equalsIgnoreCase(name, field)) return true;
  return route != nullptr && route->per_user && route->per_user->kind != config::PrincipalSource::Kind::kCookie &&
         http::equalsIgnoreCase(name, route->per_user->name);
}

std::string describeSource(const config::PrincipalSource& source) {
  switch (source.kind) {
    case config::PrincipalSource::Kind::kHeader: return "header " + source.name;
    case config::PrincipalSource::Kind::kCookie: return "cookie " + source.name;
    case config::PrincipalSource::Kind::kJwtClaim: return "JWT claim " + source.claim + " in " + source.name;
  }
  return "?";
}

const std::string& processSalt() {
  static const std::string salt = cache::newVersionToken();
  return salt;
}

void addQueryNames(Explanation& out, const config::Route& route, std::string_view raw_query) {
  for (const auto& [name, value] : http::decodeQuery(raw_query)) {
    auto& list = route.query.keeps(name) ? out.query_kept : out.query_dropped;
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  }
}

// identity.vary: the route's fields, a ("", "") separator, then the
// upstream's (cache/key.cc buildIdentity).
void addVary(Explanation& out, const cache::RequestIdentity& identity, const config::Route& route) {
  bool from_upstream = false;
  for (const auto& [name, value] : identity.vary) {
    if (name.empty()) {
      from_upstream = true;
      continue;
    }
    ExplainVary part;
    part.name = name;
    part.from_upstream = from_upstream;
    part.absent = value == cache::kAbsentHeader;
    part.digested = !part.absent && isPrivateField(name, &route);
    if (!part.absent) part.value = part.digested ? principalDigest(value) : value;
    out.vary.push_back(std::move(part));
  }
}

void explainRead(Explanation& out, const ExplainQuery& query, const ForwardedView& forwarded,
                 const config::Config& config, const ExplainDeps& deps) {
  const config::Route& route = *out.route;
  std::optional<std::string> principal;
  if (route.per_user) {
    out.principal_source = describeSource(*route.per_user);
    principal = cache::extractPrincipal(*route.per_user, forwarded.headers);
    if (principal) out.principal_digest = principalDigest(*principal);
  }
  auto decision = cache::classifyRequest(query.method, forwarded.headers, route, principal.has_value());
  if (!decision.use_cache) {
    out.verdict = "BYPASS";
    out.reason = std::string(decision.reason);
    return;
  }
  out.client_wants_fresh = route.honour_client_no_cache && cache::clientWantsFresh(forwarded.headers);
  const std::string& prefix = config.cache.key_prefix;
  cache::RequestIdentity identity = cache::buildIdentity(query.method, out.host, forwarded.target, route,
                                                         forwarded.headers, principal.value_or(""));
  out.primary_key = cache::entryKey(prefix, identity);
  out.entry_key = out.primary_key;
  // The variant the proxy goes to once the upstream is known to vary
  // (proxy/exchange_cache.cc keyFor).
  std::vector<std::string> vary_names;
  if (deps.vary_memo != nullptr) vary_names = deps.vary_memo->find(out.primary_key);
  if (!vary_names.empty()) {
    identity = cache::buildIdentity(query.method, out.host, forwarded.target, route, forwarded.headers,
                                    principal.value_or(""), vary_names);
    out.entry_key = cache::entryKey(prefix, identity);
  }
  out.identity = identity.serialize();
  addVary(out, identity, route);
  for (auto& name : cache::entryNamespaces(route, out.params, out.host, forwarded.target.path))
    out.namespaces.push_back({name, cache::namespaceKey(prefix, name), std::nullopt, false});
  out.base_namespaces = out.namespaces.size();
  if (deps.surrogate_memo != nullptr) {
    for (auto& key : deps.surrogate_memo->find(out.entry_key)) {
      bool known = std::any_of(out.namespaces.begin(), out.namespaces.end(),
                               [&](const ExplainNamespace& ns) { return ns.key == key; });
      if (known) continue;
      std::string name = key;
      const std::string ns_prefix = prefix + ":ns:";
      if (name.starts_with(ns_prefix)) name.erase(0, ns_prefix.size());
      out.namespaces.push_back({std::move(name), std::move(key), std::nullopt, true});
    }
  }
  if (deps.backlog != nullptr) {
    std::vector<std::string> keys;
    for (const auto& ns : out.namespaces) keys.push_back(ns.key);
    out.invalidation_pending = deps.backlog->isPending(keys);
  }
  if (deps.decisions != nullptr) out.last_decision = deps.decisions->find(out.entry_key);
}

}  // namespace

std::optional<ExplainQuery> parseExplainQuery(std::string_view query, std::string& error) {
  ExplainQuery out;
  bool has_url = false;
  size_t fields = 0;
  for (const auto& [name, raw] : http::parseQuery(query)) {
    auto value = percentDecode(raw);
    if (!value) {
      error = "bad %-escape in the " + name + " parameter";
      return std::nullopt;
    }
    if (name == "url") {
      if (value->size() > kMaxExplainUrl) {
        error = "url too long (at most 8 KiB)";
        return std::nullopt;
      }
      out.url = std::move(*value);
      has_url = true;
    } else if (name == "h") {
      if (++fields > kMaxExplainFields) {
        error = "too many headers (at most 64)";
        return std::nullopt;
      }
      if (value->size() > kMaxExplainField) {
        error = "header too long (at most 8 KiB)";
        return std::nullopt;
      }
      if (!parseField(*value, out.headers, error)) return std::nullopt;
    } else if (name == "method") {
      if (!isToken(*value) || value->size() > 32) {
        error = "bad method";
        return std::nullopt;
      }
      out.method = std::move(*value);
    } else if (name == "format") {
      if (*value != "json" && *value != "text") {
        error = "format must be json or text";
        return std::nullopt;
      }
      out.text = *value == "text";
    } else {
      error = "unknown parameter '" + name + "' (url, h, method, format)";
      return std::nullopt;
    }
  }
  if (!has_url || out.url.empty()) {
    error = "missing url parameter (GET /explain?url=http://host/path&h=Field:%20value)";
    return std::nullopt;
  }
  return out;
}

std::string principalDigest(std::string_view value) {
  std::string salted = processSalt();
  salted += value;
  return cache::digestHex(salted).substr(0, 16);
}

base::Result<Explanation, std::string> explainRequest(const ExplainQuery& query, const config::Config& config,
                                                      const ExplainDeps& deps) {
  Explanation out;
  out.method = query.method;
  out.url = query.url;
  auto target = http::parseTarget(query.url);
  if (!target) return base::Unexpected{std::string("malformed url (want http://host[:port]/path?query)")};
  out.route = config.matchRoute(query.method, target->path, out.params);
  if (out.route == nullptr) {
    config::Params ignored;
    for (const config::Route& route : config.routes)
      if (route.pattern.match(target->path, ignored)) out.method_mismatches.push_back(&route);
  }
  if (!deps.forward) return base::Unexpected{std::string("explain is not wired to the proxy's derivation")};
  auto forwarded = deps.forward(query.method, *target, query.headers, config, out.route);
  if (!forwarded) return base::Unexpected{"the proxy would answer 400: " + forwarded.error()};
  out.host = forwarded->host;
  out.path = forwarded->target.path;
  out.query = forwarded->target.query;
  out.forwarded_target = forwarded->target.path;
  if (forwarded->target.has_query) out.forwarded_target += "?" + forwarded->target.query;

  if (!http::isSafeMethod(query.method)) {
    // RFC 9111 §4.4 (proxy/write_invalidation.h).
    out.verdict = "WRITE";
    out.reason = out.route != nullptr ? "a non-error answer invalidates the route's namespaces and the URI's"
                                      : "no write route matches; a non-error answer invalidates the URI's namespace";
    out.invalidates = cache::writeNamespaces(out.route, out.params, out.host, out.path);
    return out;
  }
  const bool read_method = query.method == "GET" || query.method == "HEAD";
  if (out.route == nullptr || !out.route->isRead() || !read_method) {
    out.verdict = "PASS";
    out.reason = out.route == nullptr ? "no route matches: forwarded uncached"
                                      : "the route caches nothing for this method: forwarded uncached";
    return out;
  }
  addQueryNames(out, *out.route, target->query);
  explainRead(out, query, *forwarded, config, deps);
  return out;
}

std::vector<std::string> lookupKeys(const Explanation& explanation) {
  std::vector<std::string> keys;
  for (const auto& ns : explanation.namespaces) keys.push_back(ns.key);
  return keys;
}

void applyLookup(Explanation& out, cache::LookupResult&& result, const config::Config& config,
                 base::WallTime now) {
  if (result.status != cache::StoreStatus::kOk) {
    out.store = "unavailable";
    out.verdict = "BYPASS";
    out.reason = "store_unavailable";
    return;
  }
  out.store = "ok";
  result.versions.resize(out.namespaces.size());
  for (size_t i = 0; i < out.namespaces.size(); ++i) out.namespaces[i].version = result.versions[i];
  std::optional<cache::Entry> entry;
  if (result.entry) entry = cache::decodeEntry(*result.entry);
  if (entry) {
    ExplainEntry view;
    view.identity_matches = entry->identity == out.identity;
    std::vector<std::string> unread;
    view.versions_hold = cache::recordedVersionsHold(*entry, lookupKeys(out), result.versions,
                                                     out.base_namespaces, unread);
    view.verified = unread.empty();
    view.status = entry->status;
    view.body_bytes = entry->body.size();
    view.stored_at = entry->stored_at;
    view.age_seconds = cache::currentAge(entry->stored_at, entry->initial_age_seconds, now);
    view.ttl = entry->ttl;
    auto windows = cache::staleWindows(entry->headers, *out.route, config.cache);
    view.stale_while_revalidate = windows.while_revalidate;
    view.stale_if_error = windows.if_error;
    view.staleness = cache::staleness(*entry, now);
    view.etag = entry->headers.joined("ETag");
    view.last_modified = entry->headers.joined("Last-Modified");
    view.cache_control = entry->headers.joined("Cache-Control");
    out.entry = std::move(view);
  }
  // The proxy's order (proxy/exchange_cache.cc lookUp, onLookup, useEntry).
  if (out.invalidation_pending) {
    out.verdict = "BYPASS";
    out.reason = "invalidation_pending";
  } else if (!result.entry) {
    out.verdict = "MISS";
    out.reason = "no entry in the store";
  } else if (!entry) {
    out.verdict = "MISS";
    out.reason = "the stored bytes are not a valid entry";
  } else if (!out.entry->identity_matches) {
    out.verdict = "MISS";
    out.reason = "the entry under this key is another request's (a digest collision)";
  } else if (!out.entry->versions_hold) {
    out.verdict = "MISS";
    out.reason = "the entry was invalidated: a namespace version changed since it was stored";
  } else if (out.client_wants_fresh) {
    out.verdict = "MISS";
    out.reason = "the client asks for a revalidated answer (no-cache), and the route honours it: "
                 "the entry's validators go upstream";
  } else if (cache::isFresh(entry->stored_at, entry->ttl, now)) {
    out.verdict = "HIT";
    out.reason = "fresh entry";
  } else if (out.entry->stale_while_revalidate.count() > 0 &&
             out.entry->staleness <= out.entry->stale_while_revalidate) {
    out.verdict = "STALE";
    out.reason = "expired, within stale-while-revalidate: served while one request refreshes it";
  } else {
    out.verdict = "MISS";
    out.reason = "the entry expired";
  }
  // What keeps it from being a HIT next time, when the last answer says.
  if (out.verdict == "MISS" && out.last_decision && !out.last_decision->stored)
    out.reason += "; the last answer was not stored: " + out.last_decision->reason;
  if (out.entry && !out.entry->verified && (out.verdict == "HIT" || out.verdict == "STALE"))
    out.reason += " (if the surrogate keys it names still hold: one more round trip checks them)";
}

}  // namespace larder::admin
