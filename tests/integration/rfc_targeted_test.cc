// Targeted cache control (RFC 9213): CDN-Cache-Control and
// Larder-Cache-Control replace Cache-Control and Expires; larder's own field
// never reaches clients.
#include "rfc_support.h"

namespace larder::test {
namespace {

TEST_CASE("RFC 9213: CDN-Cache-Control and Larder-Cache-Control take precedence over Cache-Control") {
  for (Mode mode : {Mode::kRedis, Mode::kMemory}) {
    checkReuse(mode, {
        {"CDN max-age over no-store", "/t/cdn", 200,
         {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=3600"}}, true},
        {"Larder max-age over no-store", "/t/larder", 200,
         {{"Cache-Control", "no-store"}, {"Larder-Cache-Control", "max-age=3600"}}, true},
        {"CDN private over max-age", "/t/private", 200,
         {{"Cache-Control", "max-age=3600"}, {"CDN-Cache-Control", "private"}}, false},
        {"CDN no-store over max-age", "/t/nostore", 200,
         {{"Cache-Control", "max-age=3600"}, {"CDN-Cache-Control", "no-store"}}, false},
        {"invalid CDN field ignored", "/t/invalid", 200,
         {{"Cache-Control", "no-store"}, {"CDN-Cache-Control", "max-age=3600, &&&&&"}}, false},
        {"CDN max-age with Age past it", "/t/aged", 200,
         {{"CDN-Cache-Control", "max-age=3600"}, {"Age", "7200"}}, false},
        {"CDN max-age over a past Expires", "/t/expires", 200,
         {{"CDN-Cache-Control", "max-age=3600"}, {"Date", httpDate(0s)}, {"Expires", httpDate(-1h)}}, true},
    });
  }
}

TEST_CASE("RFC 9213: Larder-Cache-Control is larder's own and never reaches clients; CDN-Cache-Control does") {
  CacheFixture cache(optionsFor(Mode::kRedis));
  cache.customize([](const RecordedRequest&, FakeResponse& response) {
    response.headers.emplace_back("Larder-Cache-Control", "max-age=60");
    response.headers.emplace_back("CDN-Cache-Control", "max-age=30");
    response.headers.emplace_back("Cache-Control", "no-store");
  });
  HttpClient client = cache.client();
  HttpResponse miss = mustGet(client, "/t/strip");
  CHECK(xCache(miss) == "MISS");
  CHECK_FALSE(miss.hasHeader("Larder-Cache-Control"));
  CHECK(miss.header("CDN-Cache-Control") == "max-age=30");
  CHECK(miss.header("Cache-Control") == "no-store");
  REQUIRE(cache.waitForEntries(1));
  HttpResponse hit = mustGet(client, "/t/strip");
  CHECK(xCache(hit) == "HIT");
  CHECK_FALSE(hit.hasHeader("Larder-Cache-Control"));
  CHECK(hit.header("CDN-Cache-Control") == "max-age=30");
  CHECK(cache.upstream.requestCount() == 1);
}

}  // namespace
}  // namespace larder::test
