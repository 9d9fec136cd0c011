// Purges: what an admin purge request means for the cache. Pure functions
// (STYLE: policy is pure); the AdminApi sends the result to a cache::Store.
//
// A purge never deletes entries: it writes fresh version tokens to namespace
// keys (cache/store.h), so every larder sharing the store stops serving the
// entries recorded under the old tokens (DESIGN invariants 3 and 4):
//  - a namespace:  the named namespace ("products", "product:42");
//  - a URL:        the implicit namespace of its host and path, which holds
//                  every variant (query, vary headers, users) of the URL;
//  - everything:   the "*" namespace every entry belongs to.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "base/metric_catalog.h"
#include "base/time.h"
#include "cache/store.h"
#include "config/namespace_index.h"

namespace larder::admin {

// The namespace that every entry belongs to (proxy/exchange_cache.cc).
inline constexpr std::string_view kEverythingNamespace = "*";
// The TTL written on version keys, as proxy/exchange_cache.cc writes it.
inline constexpr std::chrono::milliseconds kVersionTtl = std::chrono::hours(24 * 7);

struct PurgeRequest {
  base::metrics::PurgeScope scope = base::metrics::PurgeScope::kAll;
  std::string subject;    // the namespace name or the URL, as given
  std::string ns;         // the namespace invalidated
  // Marks stale instead of invalid (cache/soft_purge.h). Only purges can.
  bool soft = false;
  base::WallTime at;  // when it was asked for: a soft purge's mark
};

// The query's "soft" parameter: absent, "0" or "false" -> false; "1" or
// "true" (or a bare "soft") -> true; anything else, or a repeat -> error.
std::optional<bool> softParameter(std::string_view query, std::string& error);

// %XX decoding; nullopt on a malformed escape. '+' is kept as is.
std::optional<std::string> percentDecode(std::string_view text);

// "products" -> purge of that namespace; error text on a bad name.
std::optional<PurgeRequest> namespacePurge(std::string_view encoded_name, std::string& error);
// "http://host[:port]/path?query" -> purge of uri:<host><path>.
std::optional<PurgeRequest> urlPurge(std::string_view url, std::string& error);
PurgeRequest everythingPurge();

// One fresh token for the purge's namespace key under `key_prefix`; a soft
// purge's token carries its mark, `purge.at` (cache/soft_purge.h).
cache::Invalidation makeInvalidation(std::string_view key_prefix, const PurgeRequest& purge);

std::string_view scopeName(base::metrics::PurgeScope scope);

// What the purge answer should warn about, or nothing: a namespace purge of
// a name that no read route files entries under (a typo such as "prodcts"
// would purge nothing). The purge is done all the same: entries may still be
// stored under a name a previous configuration used.
std::optional<std::string> purgeWarning(const PurgeRequest& purge,
                                        const config::NamespaceIndex& namespaces);

}  // namespace larder::admin
