// Cache keys (DESIGN invariant 7: keys are exact). A request's identity is
// everything that may change the answer: method class, host, normalized path,
// the route's canonical query, the values of the route's vary headers and,
// on per-user routes, the principal. The store key is a digest of the
// identity; the identity itself is serialized into the entry and compared on
// read, so a digest collision is a miss, never a wrong answer.
//
// Namespace keys hold version tokens (DESIGN invariant 4); every entry also
// belongs to the implicit namespace of its URI so unsafe methods can
// invalidate it (RFC 9111 §4.4) without enumerating its variants.
//
// Everything here is pure except newVersionToken() (per-thread random state).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "http/header_map.h"
#include "http/target.h"

namespace larder::cache {

// The value recorded for a vary header that the request does not carry: one
// NUL byte. A real field value that starts with NUL (the request parser
// rejects those, but this module does not rely on it) gets one more NUL in
// front, so "absent", "present and empty" and every present value all differ.
inline constexpr std::string_view kAbsentHeader{"\0", 1};

struct RequestIdentity {                // DESIGN invariant 7
  std::string method_class;             // "GET" for GET and HEAD (they share entries)
  std::string host;                     // lower-case, default port :80 dropped
  std::string path;                     // normalized (http::parseTarget)
  std::string query;                    // http::canonicalQuery: decoded, filtered by the route's
                                        // QueryPolicy, stable-sorted by name
  // (lower-case name, value) per route.vary, in route order. The value is
  // every field of that name joined with ", "; kAbsentHeader when none.
  std::vector<std::pair<std::string, std::string>> vary;
  std::string principal;                // per_user principal, empty if not per-user
  // Unambiguous: a version tag, then every field length-prefixed. Stored in
  // the entry and compared on read.
  std::string serialize() const;
  friend bool operator==(const RequestIdentity&, const RequestIdentity&) = default;
};

// The principal of a per-user route (DESIGN invariant 6); nullopt when it
// cannot be found, is empty or is ambiguous (the caller then bypasses):
//  - kHeader: every field of that name joined with ", ", OWS trimmed;
//  - kCookie: that cookie's value from all Cookie fields ("a=1; b=2"); a name
//    present twice with different values is ambiguous;
//  - kJwtClaim: the header (default Authorization), "Bearer " stripped, the
//    payload of a three-part compact JWS base64url-decoded, and the claim's
//    top-level string or number value. Exactly one such field is required.
// The JWT signature is NOT verified (the upstream authenticates every miss),
// so a jwt_claim principal is the claim value bound to a digest of the whole
// token: a forged token naming another user's claim never reaches that
// user's entries (DESIGN invariant 6). Entries are therefore per token; a
// client that reuses its token (the common case) hits them.
std::optional<std::string> extractPrincipal(const config::PrincipalSource& source,
                                            const http::HeaderMap& request_headers);

// Host as keyed: lower-case, an empty or default (:80) port dropped.
std::string normalizeHost(std::string_view host);
// The same, appended to `out`.
void appendNormalizedHost(std::string& out, std::string_view host);

// DESIGN invariant 11: the proxy calls this with the request as forwarded
// (proxy/forwarding.h): its host, target and fields after hop-by-hop
// processing and stripping, so the key is computed from what the upstream
// sees. `principal` is empty on routes that are not per-user.
// `extra_vary`: lower-case request fields the upstream varies on beyond
// route.vary (cache/vary.h); they join the key after the route's own.
RequestIdentity buildIdentity(std::string_view method, std::string_view host,
                              const http::Target& target, const config::Route& route,
                              const http::HeaderMap& request_headers, std::string principal,
                              const std::vector<std::string>& extra_vary = {});

// The query as keyed on `route`: names and values decoded, the parameters
// route.query leaves out dropped, sorted stably by name (http::canonicalQuery).
// On read routes it is also the query forwarded (proxy/forwarding.h).
std::string keyedQuery(const config::Route& route, std::string_view query);

// "<prefix>:e:<digest of identity.serialize()>"
std::string entryKey(std::string_view key_prefix, const RequestIdentity& identity);
// The same from the identity already serialized (identity.serialize()).
std::string entryKeyOf(std::string_view key_prefix, std::string_view serialized_identity);
// "<prefix>:ns:<ns>"
std::string namespaceKey(std::string_view key_prefix, std::string_view ns);
// "<prefix>:epoch": advanced by every invalidation (cache/store.h).
std::string epochKey(std::string_view key_prefix);
// "uri:<host><path>", host normalized as above. The query is ignored on
// purpose: a write invalidates every query variant of the path, and
// invalidating more is safe.
std::string uriNamespace(std::string_view host, std::string_view path);

// The namespace every entry belongs to, so a purge of everything is one
// invalidation.
inline constexpr std::string_view kEverythingNamespace = "*";

// The namespaces an entry of read route `route` is filed under, in the
// order the proxy reads their versions: the route's (templates expanded
// with `params`), the URI's (uriNamespace), then kEverythingNamespace.
// Shared by the proxy's lookup and `larder explain` (admin/explain.h).
std::vector<std::string> entryNamespaces(const config::Route& route, const config::Params& params,
                                         std::string_view host, std::string_view path);
// Their store keys, namespaceKey(key_prefix, ns) for each in that order,
// appended to `out`: what a lookup reads, built without the names (the
// lookup's part of a hit's allocations, issue 13).
void appendEntryNamespaceKeys(std::string_view key_prefix, const config::Route& route, const config::Params& params,
                              std::string_view host, std::string_view path, std::vector<std::string>& out);

// The namespaces a write to `path` invalidates before anything its answer
// names (Location, surrogate keys): the route's `invalidates` (none
// without a route) and the URI's (RFC 9111 §4.4).
std::vector<std::string> writeNamespaces(const config::Route* route, const config::Params& params,
                                         std::string_view host, std::string_view path);

// A fresh unique token for a namespace version (DESIGN invariant 4): 128
// random bits, 32 lower-case hex digits, from a per-thread std::mt19937_64
// seeded from std::random_device.
std::string newVersionToken();

}  // namespace larder::cache
