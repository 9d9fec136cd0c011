// The request larder sends upstream, derived once from the client's request
// (DESIGN invariant 11: keyed = forwarded). The cache key is computed from
// this derivation's result, never from the client's request, so the key and
// what the upstream sees cannot disagree:
//  - target: origin-form, the normalized path (RFC 3986 §6.2.2: dot
//    segments resolved, "//" merged, %XX of unreserved bytes decoded; %2F
//    and other reserved escapes stay encoded). On a read route the query is
//    the keyed one (decoded names, route's keep/ignore applied, stable-sorted
//    by name: http::canonicalQuery); elsewhere it is forwarded as received.
//  - Host: an absolute-form target's authority replaces Host (RFC 9112
//    §3.2.2); lower-cased, default port dropped; set once, after hop-by-hop
//    processing, so `Connection: Host` cannot remove it.
//  - fields: hop-by-hop ones (and those Connection names) removed first;
//    then the unkeyed override fields (http/override_fields.h and
//    `request_headers`) and names with '_' unless the route keys them; then
//    X-Forwarded-For/-Proto/-Host and Via set.
// Pure: no I/O, no clock (tests/fuzz/forwarding_fuzz.cc checks it).
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "config/config.h"
#include "http/message.h"
#include "http/target.h"

namespace larder::proxy {

struct ForwardedRequest {
  std::string target;        // origin-form, as written on the upstream request line
  http::Target parsed;       // its path and query (authority empty)
  std::string host;          // as keyed: lower case, default port dropped
  bool keyed_query = false;  // the query is the route's keyed one
  http::HeaderMap headers;   // every field sent upstream but the framing ones
};

// Why a request cannot be forwarded: answered 400, never sent upstream.
enum class ForwardRefusal {
  kMissingHost,  // no Host and no absolute-form authority (HTTP/1.0 without Host)
  kBadHost,      // a Host (or authority) that is not host[:port]
};
std::string_view toString(ForwardRefusal refusal);

// `target` is http::parseTarget(head.target); `route` the route matched on
// its path for head.method (null: none). `headers` is the client's fields,
// consumed.
base::Result<ForwardedRequest, ForwardRefusal> deriveForwardedRequest(
    std::string_view method, const http::Target& target, http::HeaderMap headers, int version_minor,
    std::string_view client_ip, const config::Config& config, const config::Route* route);

// True when the route keys `field` (its `vary`), which makes it forwarded
// even when the strip rules would remove it.
bool routeKeys(const config::Route* route, std::string_view field);

}  // namespace larder::proxy
