// Stale serving and revalidation rules (RFC 9111 §4.2.4, §4.3, and RFC 5861
// for stale-while-revalidate / stale-if-error). Pure functions: `now` is an
// argument.
#pragma once

#include <chrono>

#include "base/time.h"
#include "cache/entry_codec.h"
#include "config/config.h"
#include "http/header_map.h"

namespace larder::cache {

// How long past its freshness an entry may still be used.
struct StaleWindows {
  std::chrono::milliseconds while_revalidate{0};  // served at once, refreshed behind
  std::chrono::milliseconds if_error{0};          // served when the upstream fails
};

// The upstream's own directives win, then the route's, then the global
// setting; must-revalidate, proxy-revalidate and no-cache allow neither.
StaleWindows staleWindows(const http::HeaderMap& stored_headers, const config::Route& route,
                          const config::CacheConfig& cache);

// How long past freshness the store keeps an entry: long enough for both
// stale windows, and, when it has validators, for revalidation (about its
// fresh lifetime `ttl`, between 10 s and 1 h).
std::chrono::milliseconds retention(const http::HeaderMap& stored_headers,
                                    std::chrono::milliseconds ttl, const config::Route& route,
                                    const config::CacheConfig& cache);

// Time since the entry stopped being fresh (negative while fresh).
std::chrono::milliseconds staleness(const Entry& entry, base::WallTime now);

bool hasValidators(const http::HeaderMap& stored_headers);

// Replaces the request's conditional fields with the entry's validators,
// so an upstream 304 means "the stored body is still good".
void setValidators(const http::HeaderMap& stored_headers, http::HeaderMap& request_headers);

// RFC 9111 §4.3.4: a 304's fields replace the stored ones of the same name
// (framing fields and hop-by-hop fields excepted).
void mergeNotModified(http::HeaderMap& stored_headers, const http::HeaderMap& not_modified);

// RFC 9110 §13.1.2 and §13.1.3 (with §13.2.2's precedence): whether the
// client's If-None-Match / If-Modified-Since say it already has this entry.
bool clientHasCurrent(const http::HeaderMap& request_headers, const http::HeaderMap& stored_headers);

// RFC 9110 §15.4.5: the fields a 304 carries, taken from the stored ones.
http::HeaderMap notModifiedHeaders(const http::HeaderMap& stored_headers);

}  // namespace larder::cache
