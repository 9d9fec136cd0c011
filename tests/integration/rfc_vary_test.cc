// Vary (RFC 9111 §4.1): request fields match across the differences the RFC
// allows (combined field lines, optional whitespace, case where values are
// case-insensitive), on routes that key a field and for fields the upstream
// names in Vary; different values stay apart.
#include <atomic>
#include <string>

#include "cache_support.h"

namespace larder::test {
namespace {

CacheOptions varyOptions(StoreKind store) {
  CacheOptions options;
  options.store = store;
  options.routes = R"(routes:
  - match: GET /keyed
    ttl: 1h
    vary: [Accept-Language]
  - match: GET /learned
    ttl: 1h
)";
  return options;
}

TEST_CASE("RFC 9111 §4.1: Accept-Language values that differ only in case and whitespace share a variant") {
  for (StoreKind store : {StoreKind::kMemory, StoreKind::kRedis}) {
    CAPTURE(store == StoreKind::kRedis);
    CacheFixture cache(varyOptions(store));
    cache.customize([](const RecordedRequest& request, FakeResponse& response) {
      if (request.target == "/learned") response.headers.emplace_back("Vary", "Accept-Language, Accept");
    });
    HttpClient client = cache.client();
    for (const char* target : {"/keyed", "/learned"}) {
      CAPTURE(target);
      const int64_t fills = cache.fillCount();
      HttpResponse first = mustGet(client, target, {{"Accept-Language", "en-US, fr;q=0.5"}, {"Accept", "text/html"}});
      CHECK(xCache(first) == "MISS");
      REQUIRE(cache.waitForFillAfter(fills));
      // The same preferences, written differently, over two field lines.
      HttpResponse same = mustGet(client, target,
                                  {{"Accept-Language", "en-us"}, {"accept-language", "FR; q=0.5"}, {"Accept", "Text/HTML"}});
      CHECK(xCache(same) == "HIT");
      CHECK(same.body == first.body);
      // Other preferences are another variant.
      HttpResponse other = mustGet(client, target, {{"Accept-Language", "fr, en-US;q=0.5"}, {"Accept", "text/html"}});
      CHECK(xCache(other) == "MISS");
      CHECK(other.body != first.body);
    }
    CHECK(cache.upstreamCount("GET", "/keyed") == 2);
    CHECK(cache.upstreamCount("GET", "/learned") == 2);
  }
}

}  // namespace
}  // namespace larder::test
