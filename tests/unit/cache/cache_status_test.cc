#include "cache/cache_status.h"

#include <doctest/doctest.h>

#include "http/structured_field.h"

using namespace larder;
using namespace larder::cache;
using Forward = CacheStatus::Forward;

// GCC 12 warns about every member a designated initializer nested in an
// aggregate leaves out; leaving them at their defaults is what the rows do.
// (Popped after the case: a unity build goes on with the next file.)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

TEST_CASE("RFC 9211 §2: Cache-Status members for hits, forwards and bypasses") {
  struct Row {
    const char* name;
    CacheStatus status;
    const char* expected;
  };
  const Row rows[] = {
      {"hit", {.hit = true, .ttl = 42}, "larder; hit; ttl=42"},
      {"stale hit", {.hit = true, .ttl = -5}, "larder; hit; ttl=-5"},
      {"uri miss, stored", {.fwd = Forward::kUriMiss, .fwd_status = 200, .stored = true},
       "larder; fwd=uri-miss; fwd-status=200; stored"},
      {"vary miss, collapsed", {.fwd = Forward::kVaryMiss, .fwd_status = 200, .stored = true, .collapsed = true},
       "larder; fwd=vary-miss; fwd-status=200; stored; collapsed"},
      {"not stored", {.fwd = Forward::kUriMiss, .fwd_status = 200, .detail = "no_store"},
       "larder; fwd=uri-miss; fwd-status=200; detail=no_store"},
      {"revalidated", {.fwd = Forward::kStale, .fwd_status = 304, .ttl = 60, .stored = true},
       "larder; fwd=stale; fwd-status=304; ttl=60; stored"},
      {"bypass", {.fwd = Forward::kBypass, .fwd_status = 200, .detail = "authorization"},
       "larder; fwd=bypass; fwd-status=200; detail=authorization"},
      {"client asked", {.fwd = Forward::kRequest, .fwd_status = 200, .stored = true},
       "larder; fwd=request; fwd-status=200; stored"},
      {"detail that is no token", {.fwd = Forward::kMiss, .detail = "a \"b\""},
       "larder; fwd=miss; detail=\"a \\\"b\\\"\""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    const std::string member = formatCacheStatus("larder", row.status);
    CHECK(member == row.expected);
    // A member is a valid Structured Field (a one-member list parses as a
    // dictionary whose key is the cache's name when that is lower case).
    CHECK(http::parseStructuredDictionary(member).has_value());
  }
  CHECK(formatCacheStatus("Edge Cache", {.hit = true}) == "\"Edge Cache\"; hit");
}

#pragma GCC diagnostic pop

TEST_CASE("RFC 9211 §2: larder's member goes after the upstream's") {
  http::HeaderMap headers;
  appendCacheStatus(headers, "larder; hit");
  CHECK(headers.joined("Cache-Status") == "larder; hit");
  http::HeaderMap upstream;
  upstream.add("Cache-Status", "OriginCache; hit; ttl=1100");
  upstream.add("cache-status", "Other; fwd=miss");
  appendCacheStatus(upstream, "larder; fwd=uri-miss; fwd-status=200");
  CHECK(upstream.findAll("Cache-Status").size() == 1);
  CHECK(upstream.joined("Cache-Status") ==
        "OriginCache; hit; ttl=1100, Other; fwd=miss, larder; fwd=uri-miss; fwd-status=200");
}
