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
// Splits "a=1&b=2&b" into pairs (no decoding beyond normalizing %XX case),
// keeping order; empty pieces are dropped.
QueryParams parseQuery(std::string_view query);
// Stable sort by name then value, and re-join with '&'.
std::string canonicalQuery(QueryParams params);

}  // namespace larder::http
