// The soft parameter of purges, soft purge invalidations, and the purge
// history the status page shows.
#include <doctest/doctest.h>

#include "admin/purge.h"
#include "admin/purge_history.h"
#include "admin/status_page.h"
#include "base/log.h"
#include "cache/soft_purge.h"

using namespace larder;
using namespace larder::admin;

TEST_CASE("the soft parameter: 1/true/bare is soft, 0/false/absent hard; anything else is refused") {
  std::string error;
  CHECK(softParameter("", error) == false);
  CHECK(softParameter("url=x", error) == false);
  CHECK(softParameter("soft=1", error) == true);
  CHECK(softParameter("soft=true", error) == true);
  CHECK(softParameter("soft", error) == true);
  CHECK(softParameter("url=http%3A%2F%2Fa%2Fb&soft=1", error) == true);
  CHECK(softParameter("soft=0", error) == false);
  CHECK(softParameter("soft=false", error) == false);
  for (std::string_view bad : {"soft=yes", "soft=2", "soft=TRUE", "soft=1&soft=1", "soft=%31"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(softParameter(bad, error));
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("a soft purge's invalidation is soft and its token carries the mark") {
  PurgeRequest purge = *[] {
    std::string error;
    return namespacePurge("products", error);
  }();
  CHECK_FALSE(makeInvalidation("v1", purge).soft);
  purge.soft = true;
  purge.at = base::WallTime(std::chrono::milliseconds(42000));
  auto invalidation = makeInvalidation("v1", purge);
  CHECK(invalidation.soft);
  REQUIRE(invalidation.tokens.size() == 1);
  CHECK(invalidation.tokens[0].ends_with("@42000"));
}

TEST_CASE("the purge history keeps the newest kCapacity purges, newest first, as JSON") {
  PurgeHistory history;
  CHECK(history.toJson() == "{\"purges\":[]}");
  for (size_t i = 0; i < PurgeHistory::kCapacity + 5; ++i)
    history.add({base::WallTime(std::chrono::seconds(i)), "namespace", "ns" + std::to_string(i), i % 2 == 0,
                 true});
  CHECK(history.size() == PurgeHistory::kCapacity);
  std::string json = history.toJson();
  CHECK(json.find("\"subject\":\"ns24\"") < json.find("\"subject\":\"ns23\""));
  CHECK(json.find("\"ns4\"") == std::string::npos);  // dropped, oldest first
  CHECK(json.find("\"ns5\"") != std::string::npos);
  history.add({base::WallTime(), "url", "a\"b", false, false});
  CHECK(history.toJson().find("\"subject\":\"a\\\"b\",\"soft\":false,\"ok\":false") != std::string::npos);
}

TEST_CASE("RFC 3339 times are UTC with milliseconds") {
  CHECK(base::rfc3339(base::WallTime(std::chrono::milliseconds(0))) == "1970-01-01T00:00:00.000Z");
  CHECK(base::rfc3339(base::WallTime(std::chrono::milliseconds(1796559829436))) == "2026-12-06T12:23:49.436Z");
}

TEST_CASE("the status page is one document with no external assets") {
  std::string_view page = statusPageHtml();
  CHECK(page.starts_with("<!DOCTYPE html>"));
  for (std::string_view external : {"src=\"http", "href=\"http", "@import", "url(http", "//cdn"}) {
    CAPTURE(external);
    CHECK(page.find(external) == std::string_view::npos);
  }
  CHECK(std::string_view(statusPageHeaders()).find("default-src 'none'") != std::string_view::npos);
}
