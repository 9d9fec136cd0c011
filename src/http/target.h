// Request-target handling: origin-form and absolute-form (RFC 9112 §3.2),
// path normalization for keys and route matching, and query parsing.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace larder::http {

struct Target {
  std::string authority;  // from absolute-form only ("host[:port]"), else empty
  std::string path;       // normalized, always starts with '/'
  std::string query;      // raw, without '?'; empty if none
  bool has_query = false;
};

// Parses and normalizes a request-target:
//  - percent-encoding: %XX of unreserved characters is decoded, other %XX
//    get upper-case hex; a bad %-escape is an error;
//  - dot segments resolved (RFC 3986 §5.2.4), "//" collapsed to "/";
//  - fragments, asterisk-form and authority-form, control bytes and spaces
//    are errors. Returns nullopt on error.
std::optional<Target> parseTarget(std::string_view target);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
// Splits "a=1&b=2&b" into raw pairs (no decoding beyond normalizing %XX
// case), keeping order; empty pieces are dropped. For the admin API, which
// decodes values itself.
QueryParams parseQuery(std::string_view query);

// The query as the cache keys it and forwards it (DESIGN invariant 11):
// names and values decoded the way form decoders do (application/
// x-www-form-urlencoded: %XX decoded, '+' is a space), so "pag%65" is
// "page". Only '&' separates pairs: ';' is data ("a=1;b=2" is one pair,
// name "a"), keyed and forwarded exactly as it is. An invalid %-escape is
// kept literally (parseTarget has refused those already).
QueryParams decodeQuery(std::string_view query);
// The canonical text of decoded pairs: stable-sorted by name only, so the
// relative order of a repeated name's values is kept ("page=9&page=1" and
// "page=1&page=9" differ), and re-encoded in one form: unreserved bytes and
// the sub-delims other than "&+=" as they are ('=' raw in values), a space
// as '+', everything else %XX with upper-case hex. decodeQuery of the result
// gives the same pairs; canonicalQuery(decodeQuery(q)) is a fixed point.
std::string canonicalQuery(QueryParams decoded);

}  // namespace larder::http
