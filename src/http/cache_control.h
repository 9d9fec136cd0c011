// Cache-Control parsing (RFC 9111 §5.2) and HTTP dates (RFC 9110 §5.6.7).
// Pure functions: no clock reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/time.h"
#include "http/header_map.h"

namespace larder::http {

struct CacheControl {
  bool no_store = false;
  bool no_cache = false;      // response: with or without field names; request: likewise
  bool is_private = false;
  bool is_public = false;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool no_transform = false;
  bool only_if_cached = false;
  std::optional<std::chrono::seconds> max_age;
  std::optional<std::chrono::seconds> s_maxage;
  std::optional<std::chrono::seconds> stale_while_revalidate;
  std::optional<std::chrono::seconds> stale_if_error;
  std::optional<std::chrono::seconds> min_fresh;
  std::optional<std::chrono::seconds> max_stale;  // "max-stale" alone: very large
};

// Parses every Cache-Control field of `headers` (lists combine). Unknown
// directives are ignored; a malformed delta-seconds drops that directive,
// and so does whitespace around its "=" (cache-directive = token [ "="
// ( token / quoted-string ) ], RFC 9111 §5.2, has none). Both forms of an
// argument are accepted: max-age=5 and max-age="5" are equivalent.
// Duplicate directives: the first wins (conservatively, per RFC 9111 §4.2.1).
CacheControl parseCacheControl(const HeaderMap& headers);
CacheControl parseCacheControl(std::string_view value);

// A targeted cache-control field (RFC 9213 §2.1), such as CDN-Cache-Control:
// a Structured Field Dictionary. nullopt when the value is not a valid
// dictionary, is empty, or gives a known directive a value of the wrong type
// (max-age="5"); RFC 9213 then has the cache ignore the field. Delta-second
// values past 2^31 are taken as 2^31, as for Cache-Control.
std::optional<CacheControl> parseTargetedCacheControl(std::string_view value);

// IMF-fixdate, obsolete RFC 850 and asctime forms; nullopt when invalid.
std::optional<base::WallTime> parseHttpDate(std::string_view text);
// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string formatHttpDate(base::WallTime time);
// The same for seconds since the Unix epoch, 0..kMaxHttpDateSeconds,
// appended (29 bytes). Without the C library's gmtime: stored entries
// rebuild their Date and Last-Modified fields with it on every hit
// (cache/compact_fields.h).
inline constexpr int64_t kMaxHttpDateSeconds = 253402300799;  // 9999-12-31T23:59:59Z
void appendHttpDate(std::string& out, int64_t unix_seconds);
// The same 29 characters, written to `out` (no terminating NUL).
inline constexpr size_t kHttpDateLength = 29;
void writeHttpDate(char* out, int64_t unix_seconds);

}  // namespace larder::http
