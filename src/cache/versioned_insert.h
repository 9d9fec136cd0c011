// The store request for an entry, stored under the namespace versions seen
// *before* its fetch (DESIGN invariant 3): a version that was absent gets a
// fresh token the store creates only if still absent; a present one must be
// unchanged, or the store refuses the entry.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/entry_codec.h"
#include "cache/store.h"

namespace larder::cache {

// Tokens an insert creates for absent version keys start with this; tokens
// written by invalidations never do. A created token is no write: requests
// that saw it and requests that saw the key absent may share a fill.
inline constexpr std::string_view kCreatedTokenPrefix = "+";

// Version keys outlive entries; an expired one only turns entries into misses.
inline constexpr std::chrono::milliseconds kVersionTtl = std::chrono::hours(24 * 7);

// Records the versions in `entry`, encodes it, and keeps it in the store for
// its freshness plus `retention` (stale windows, revalidation).
InsertRequest buildVersionedInsert(std::string entry_key, Entry& entry,
                                   const std::vector<std::string>& version_keys,
                                   const std::vector<std::optional<std::string>>& seen_versions,
                                   std::chrono::milliseconds retention);

// Concurrent first fills under a namespace each bring their own created
// token; the store keeps the first, so the others are refused though no
// write happened. A created token is no write: a refused insert adopts the
// created tokens now `current` (one per expectation) when its other versions
// are unchanged. nullopt when a write did happen, or nothing was adopted.
std::optional<InsertRequest> adoptCreatedVersions(const InsertRequest& refused,
                                                  const std::vector<std::optional<std::string>>& current);

// Whether an insert creates a version key, and so may be refused by another
// insert's creation rather than by a write.
bool createsVersions(const InsertRequest& insert);

}  // namespace larder::cache
