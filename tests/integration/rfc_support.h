// Shared by the RFC 9111 / RFC 9213 tests (rfc_*_test.cc): larder as a
// plain HTTP cache (one catch-all `ttl: upstream` route, plus a fixed-TTL,
// a statuses-restricted and a heuristic-off route) on the Redis store, the
// memory store and through the in-process tier, and checkReuse(), which asks
// for each case's path twice and expects a hit exactly when it should.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "cache_support.h"

namespace larder::test {

using namespace std::chrono_literals;

constexpr std::string_view kPlainRoutes = R"(routes:
  - match: GET /fixed/*
    ttl: 1m
  - match: GET /only200/*
    ttl: upstream
    statuses: [200]
  - match: GET /noheuristic/*
    ttl: upstream
    heuristic: off
  - match: GET /*
    ttl: upstream
)";

constexpr std::string_view kTierRoutes = R"(routes:
  - match: GET /*
    ttl: upstream
    memory_ttl: 30s
)";

enum class Mode { kRedis, kMemory, kTier };

inline const char* name(Mode mode) {
  switch (mode) {
    case Mode::kRedis: return "redis";
    case Mode::kMemory: return "memory";
    case Mode::kTier: return "redis + in-process tier";
  }
  return "?";
}

inline CacheOptions optionsFor(Mode mode) {
  CacheOptions options;
  options.store = mode == Mode::kMemory ? StoreKind::kMemory : StoreKind::kRedis;
  options.routes = std::string(mode == Mode::kTier ? kTierRoutes : kPlainRoutes);
  return options;
}

// An IMF-fixdate `offset` from now (RFC 9110 §5.6.7).
inline std::string httpDate(std::chrono::seconds offset) {
  const std::time_t t = std::time(nullptr) + offset.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buffer;
}

struct Case {
  std::string name;
  std::string path;
  int status;
  Headers headers;
  bool reused;
};

// Each case's path is answered with its status and fields. Every path is
// asked for twice; the second answer must be a hit exactly when `reused`.
inline void checkReuse(Mode mode, const std::vector<Case>& cases) {
  CAPTURE(name(mode));
  CacheFixture cache(optionsFor(mode));
  cache.customize([&](const RecordedRequest& request, FakeResponse& response) {
    for (const Case& c : cases) {
      if (request.target != c.path) continue;
      response.status = c.status;
      response.reason = "Whatever";
      response.headers = c.headers;
      if (c.status == 204 || c.status == 304) response.body.clear();
    }
  });
  HttpClient client = cache.client();
  size_t stored = 0;
  for (const Case& c : cases) {
    CAPTURE(c.name);
    HttpResponse first = mustGet(client, c.path);
    CHECK(first.status == c.status);
    if (c.reused) ++stored;
  }
  // Stores land after their answers (Redis): wait for all of them at once.
  if (mode != Mode::kMemory) REQUIRE(cache.waitForEntries(stored));
  for (const Case& c : cases) {
    CAPTURE(c.name);
    HttpResponse second = mustGet(client, c.path);
    CHECK(second.status == c.status);
    CHECK(xCache(second) == (c.reused ? "HIT" : "MISS"));
    CHECK(cache.upstreamCount("GET", c.path) == (c.reused ? 1u : 2u));
  }
}

}  // namespace larder::test
