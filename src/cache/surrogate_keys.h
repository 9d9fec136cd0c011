// Surrogate keys: namespaces from the application. The upstream names
// namespaces in a response field (cache.surrogate_keys.header, space
// separated): on a cacheable answer they tag the entry, on a write's
// non-error answer they are invalidated. Name N is the namespace "sk:N", so
// an application's name never shares a version key with a route's
// namespace, a URI's or "*" by accident (a route may still name "sk:N" on
// purpose, e.g. in `invalidates`).
//
// Why it needs more than route namespaces (DESIGN invariants 1, 3 and 4):
//  - Invariant 3: these names are known only once the answer arrives, after
//    the lookup, so the lookup did not read their version keys. Every
//    invalidation advances an epoch key and stamps its tokens with it
//    (cache/store.h); every lookup reads the epoch key in its MGET. Once the
//    answer is in, the unread keys are read, and one written after the
//    lookup (its token's epoch above the lookup's) refuses the entry
//    (cache/versioned_insert.h). Concurrent waiters on a fill compare epochs
//    the same way (fillServesLookup).
//  - Invariant 1: SurrogateMemo remembers per entry key (one variant of a
//    resource) which version keys its last answer named; the next lookup
//    reads them in the same MGET. An entry recording keys the lookup did not
//    read (memo cold after a start, or another instance stored it) is
//    checked by a second lookup of exactly those keys before it is served:
//    the one exception to one round trip, never an unchecked hit.
//  - Invariant 4: unread keys follow the usual rules: an absent one is
//    created only if still absent, a present one must stay unchanged.
// Everything here is pure but SurrogateMemo (a mutex).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/list_memo.h"
#include "config/config.h"
#include "http/header_map.h"

namespace larder::cache {

// Bounds per answer; further or longer names are ignored.
inline constexpr size_t kMaxSurrogateKeys = 32;
inline constexpr size_t kMaxSurrogateKeyLength = 128;
inline constexpr std::string_view kSurrogateNamespacePrefix = "sk:";

struct SurrogateNames {
  std::vector<std::string> names;  // valid, de-duplicated, in order
  size_t ignored = 0;              // invalid (control bytes, too long) or past the bound
};

// The names in every `header_name` field: runs of visible ASCII separated by
// spaces or tabs.
SurrogateNames parseSurrogateKeys(const http::HeaderMap& headers, std::string_view header_name);

// The version key of name N: namespaceKey(prefix, "sk:N").
std::string surrogateVersionKey(std::string_view key_prefix, std::string_view name);

// The version keys an answer names, and the field removed if configured;
// nullopt when the answer has no such field or the feature is off.
struct AnswerKeys {
  std::vector<std::string> version_keys;
  size_t ignored = 0;
};
std::optional<AnswerKeys> takeSurrogateKeys(http::HeaderMap& headers, std::string_view key_prefix,
                                            const config::SurrogateKeyConfig& config);

// Removes the field when configured to (an entry stored by another instance).
void stripSurrogateKeys(http::HeaderMap& headers, const config::SurrogateKeyConfig& config);

// Whether a fill may answer a waiter: the fill's answer named `answer_keys`
// and its leader's lookup read `leader_epoch`; the waiter's lookup read
// `read_keys` (in the fill key, so the leader saw the same tokens) and
// `waiter_epoch`. A key the waiter did not read is safe only when no
// invalidation landed between the two lookups (DESIGN invariant 3). An
// absent epoch counts as 0.
bool fillServesLookup(const std::vector<std::string>& answer_keys, std::optional<uint64_t> leader_epoch,
                      const std::vector<std::string>& read_keys, std::optional<uint64_t> waiter_epoch);

// Entry key -> the version keys its last answer named (see the top).
// Shared by every worker thread, behind one mutex (cache/list_memo.h).
using SurrogateMemo = ListMemo;

}  // namespace larder::cache
