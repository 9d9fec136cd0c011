// The store request for an entry, stored under the namespace versions seen
// *before* its fetch (DESIGN invariant 3): a version that was absent gets a
// fresh token the store creates only if still absent; a present one must be
// unchanged, or the store refuses the entry.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
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

// ---- Versions the lookup did not read -------------------------------------
// An answer may name surrogate keys its lookup did not read (cache/
// surrogate_keys.h). Invariant 3 still holds for them through the epoch
// (cache/store.h): such a key, read once the answer is in, counts as seen at
// the lookup if it is absent, holds a created token, or holds a token whose
// epoch is not after the epoch the lookup read. Any later token was written
// after the lookup, and the entry is not stored.

// Whether the versions `entry` records still hold (DESIGN invariant 3): its
// first `base_count` are the first `base_count` read keys, each holding the
// token the entry records (an absent key never matches, invariant 4), and
// every further one that was read holds its token too. Further ones that
// were not read are added to `unread`: the entry may be served only once
// they are read and hold.
// With `soft_mark`, a recorded token that soft purges only have superseded
// since (cache/soft_purge.h) holds too, and `soft_mark` gets the earliest
// such purge's mark: the entry may then be served only as a stale one.
bool recordedVersionsHold(const Entry& entry, const std::vector<std::string>& read_keys,
                          const std::vector<std::optional<std::string>>& read_seen, size_t base_count,
                          std::vector<std::string>& unread,
                          std::optional<base::WallTime>* soft_mark = nullptr);

// The epoch an invalidation wrote into `token`; 0 for a created token (no
// write); nullopt when it carries none.
std::optional<uint64_t> tokenEpoch(std::string_view token);
// The epoch key's value as a lookup read it; nullopt when absent or malformed.
std::optional<uint64_t> parseEpoch(const std::optional<std::string>& value);

// The answer's keys that are not among `read_keys`, in order.
std::vector<std::string> unreadKeys(const std::vector<std::string>& answer_keys,
                                    const std::vector<std::string>& read_keys);

// The versions an entry is stored under and what was seen of them, as
// buildVersionedInsert takes them.
struct EntryVersions {
  std::vector<std::string> keys;
  std::vector<std::optional<std::string>> seen;
};

// The first `base_count` of `read_keys` (the route's namespaces), then the
// answer's keys not among them. A read key keeps what the lookup saw
// (`read_seen`); an unread one takes its value in `unread_now` (one per
// unreadKeys() key, read after the answer) by the rule above. nullopt when
// one was written after the lookup: the entry must not be stored.
std::optional<EntryVersions> entryVersions(const std::vector<std::string>& read_keys,
                                           const std::vector<std::optional<std::string>>& read_seen,
                                           size_t base_count,
                                           const std::vector<std::string>& answer_keys,
                                           const std::vector<std::optional<std::string>>& unread_now,
                                           std::optional<uint64_t> lookup_epoch);

}  // namespace larder::cache
