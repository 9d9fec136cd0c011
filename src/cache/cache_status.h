// Cache-Status (RFC 9211): how larder handled one request, as one member of
// the response field's list, e.g. `larder; hit; ttl=42` or
// `larder; fwd=uri-miss; fwd-status=200; stored`. Pure functions.
//
// The member goes after any the upstream sent: the list runs from the cache
// nearest the origin to the one nearest the client (RFC 9211 §2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/header_map.h"

namespace larder::cache {

struct CacheStatus {
  // Why the request went forward (RFC 9211 §2.2); kNone on a hit.
  enum class Forward { kNone, kUriMiss, kVaryMiss, kMiss, kStale, kRequest, kBypass };
  bool hit = false;
  Forward fwd = Forward::kNone;
  std::optional<int> fwd_status;  // the upstream's status
  std::optional<int64_t> ttl;     // remaining freshness in seconds; negative when stale
  bool stored = false;
  bool collapsed = false;         // answered by another request's fetch
  std::string detail;             // why not stored, or why bypassed (metric reason names)
};

std::string_view toString(CacheStatus::Forward fwd);

// One list member: `name` (a token, or a quoted string when it is not one)
// and the parameters that apply.
std::string formatCacheStatus(std::string_view name, const CacheStatus& status);

// Appends `member` to the Cache-Status fields already in `headers`.
void appendCacheStatus(http::HeaderMap& headers, std::string member);

}  // namespace larder::cache
