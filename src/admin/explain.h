// Explain: why a URL is a HIT, a MISS or a BYPASS (GET /explain, and
// `larder explain` in app/explain_command.h).
//
// The model is derived exactly as the proxy derives a request (DESIGN
// invariant 11): config::Config::matchRoute, then the proxy's forwarding
// derivation (proxy/forwarding.h, passed in by app as ExplainDeps::forward
// because admin may not include proxy), then cache/policy's
// classifyRequest, cache/key's extractPrincipal, buildIdentity, entryKey
// and entryNamespaces, and the process's Vary and surrogate-key memos.
// Nothing of that is re-implemented here; explain only reports.
//
// Then one store lookup, as the proxy's (namespace versions and the entry
// together), tells whether an entry exists and would be served, and the
// StoreDecisions memo (cache/store_decisions.h) what the last answer for
// the key was stored or refused for.
//
// DESIGN invariant 6: nothing per-user leaves in clear. The principal, and
// the values of Authorization, Proxy-Authorization, Cookie and the
// per-user source field, appear only as principalDigest(): a digest salted
// per process, equal for equal values within one run, and not reversible
// without the salt (so a guessable user id cannot be looked up offline).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/time.h"
#include "cache/invalidation_backlog.h"
#include "cache/list_memo.h"
#include "cache/store.h"
#include "cache/store_decisions.h"
#include "config/config.h"
#include "http/header_map.h"
#include "http/target.h"

namespace larder::admin {

// What proxy::deriveForwardedRequest gives (proxy/forwarding.h), as much of
// it as explain reports.
struct ForwardedView {
  std::string host;         // as keyed
  http::Target target;      // path and query as forwarded (and keyed on reads)
  http::HeaderMap headers;  // the fields as forwarded
};
// (method, target, client fields, config, route) -> the forwarded request,
// or why it would be refused (400).
using ForwardFn = std::function<base::Result<ForwardedView, std::string>(
    std::string_view, const http::Target&, http::HeaderMap, const config::Config&, const config::Route*)>;

// What the app lends explain (all process-wide and thread-safe); the memos
// and the backlog may be null (then reported as unknown / empty).
struct ExplainDeps {
  ForwardFn forward;
  const cache::ListMemo* vary_memo = nullptr;       // cache/vary.h VaryMemo
  const cache::ListMemo* surrogate_memo = nullptr;  // cache/surrogate_keys.h SurrogateMemo
  const cache::InvalidationBacklog* backlog = nullptr;
  const cache::StoreDecisions* decisions = nullptr;
};

// The admin request: GET /explain?url=URL[&h=Field:%20value]...[&method=M][&format=text]
struct ExplainQuery {
  std::string method = "GET";
  std::string url;           // absolute http(s) URL, or origin-form with an h=Host:...
  http::HeaderMap headers;   // as a client would send them
  bool text = false;         // format=text: the CLI's rendering
};

// Limits on what one explain may ask (DESIGN invariant 8): a bigger ask is a 400.
inline constexpr size_t kMaxExplainUrl = 8 * 1024;
inline constexpr size_t kMaxExplainField = 8 * 1024;
inline constexpr size_t kMaxExplainFields = 64;

// Parses the admin query string; nullopt with `error` set on bad input:
// no url, a bad %-escape, a header that is not "Name: value" with a token
// name and no control bytes, an unknown parameter, or past the limits.
std::optional<ExplainQuery> parseExplainQuery(std::string_view query, std::string& error);

// The per-process salted digest shown instead of a principal (16 hex digits).
std::string principalDigest(std::string_view value);

struct ExplainNamespace {
  std::string name;                    // expanded
  std::string key;                     // the version key in the store
  std::optional<std::string> version;  // the token read; nullopt: absent (or not read)
  bool surrogate = false;              // named by the last answer (Surrogate-Key)
};

struct ExplainVary {
  std::string name;       // lower case
  std::string value;      // normalized as keyed; a digest for private fields
  bool absent = false;
  bool digested = false;
  bool from_upstream = false;  // learnt from the upstream's Vary, not the route's
};

struct ExplainEntry {
  bool identity_matches = false;  // false: another request's entry under the same digest
  bool versions_hold = false;     // false: invalidated since it was stored
  bool verified = true;           // false: it names surrogate keys not read here
  int status = 0;
  uint64_t body_bytes = 0;
  base::WallTime stored_at;
  int64_t age_seconds = 0;
  std::chrono::milliseconds ttl{0};
  std::chrono::milliseconds stale_while_revalidate{0};
  std::chrono::milliseconds stale_if_error{0};
  std::chrono::milliseconds staleness{0};  // negative while fresh
  std::string etag, last_modified, cache_control;
};

struct Explanation {
  std::string method;
  std::string url;
  // The route.
  const config::Route* route = nullptr;  // owned by the config the caller holds
  config::Params params;
  std::vector<const config::Route*> method_mismatches;  // path matches, method does not
  // The request as forwarded and keyed.
  std::string host, path, query, forwarded_target;
  std::vector<std::string> query_kept, query_dropped;  // decoded names
  // The cache.
  std::string verdict;        // HIT, STALE, MISS, BYPASS, PASS, WRITE, REFUSED
  std::string reason;         // why (a cache/policy.h reason, or words)
  std::string principal_source;
  std::optional<std::string> principal_digest;
  std::vector<ExplainVary> vary;
  std::string primary_key, entry_key;
  std::vector<ExplainNamespace> namespaces;
  size_t base_namespaces = 0;  // the route's own versions, before surrogate keys
  std::vector<std::string> invalidates;  // writes
  bool invalidation_pending = false;
  bool client_wants_fresh = false;  // an honoured client no-cache: never a HIT
  std::string store;          // "not asked", "ok", "unavailable"
  std::optional<ExplainEntry> entry;
  std::optional<cache::StoreDecisionRecord> last_decision;
  std::string identity;       // serialized; compared with the entry's, never shown
  bool needsLookup() const { return !entry_key.empty() && verdict.empty(); }
};

// Everything but the store's answer. An error (400) when the request would
// be refused before any cache decision (bad target, bad Host).
base::Result<Explanation, std::string> explainRequest(const ExplainQuery& query, const config::Config& config,
                                                      const ExplainDeps& deps);

// The version keys and entry key to read, as the proxy's lookup reads them.
std::vector<std::string> lookupKeys(const Explanation& explanation);

// Completes `explanation` with the store's answer, read at `now`: the
// versions, the entry, and the verdict the proxy would reach.
void applyLookup(Explanation& explanation, cache::LookupResult&& result, const config::Config& config,
                 base::WallTime now);

// explain_render.cc
std::string renderExplanationJson(const Explanation& explanation);
std::string renderExplanationText(const Explanation& explanation);

}  // namespace larder::admin
