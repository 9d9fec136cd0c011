#include "config/config.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace larder::config;

namespace {

Route makeRoute(std::vector<std::string> methods, std::string_view path) {
  Route route;
  route.methods = std::move(methods);
  std::string error;
  REQUIRE(RoutePattern::parse(path, route.pattern, error));
  route.match_text = std::string(path);
  return route;
}

}  // namespace

TEST_CASE("addresses print the way they are written") {
  using K = Address::Kind;
  CHECK(Address{K::kTcp, "0.0.0.0", 8080, ""}.toString() == "0.0.0.0:8080");
  CHECK(Address{K::kTcp, "api.internal", 80, ""}.toString() == "api.internal:80");
  CHECK(Address{K::kTcp, "::1", 8080, ""}.toString() == "[::1]:8080");
  CHECK(Address{K::kUnix, "", 0, "/run/larder.sock"}.toString() == "unix:/run/larder.sock");
}

TEST_CASE("query policies keep, ignore or pass names, with trailing-* globs") {
  struct Row {
    QueryPolicy::Mode mode;
    std::vector<std::string> patterns;
    std::string_view name;
    bool keeps;
  };
  using M = QueryPolicy::Mode;
  const Row rows[] = {
      {M::kAll, {}, "anything", true},
      {M::kAll, {}, "", true},
      {M::kKeepOnly, {"page", "sort"}, "page", true},
      {M::kKeepOnly, {"page", "sort"}, "sort", true},
      {M::kKeepOnly, {"page", "sort"}, "pages", false},
      {M::kKeepOnly, {"page", "sort"}, "Page", false},  // query names are case-sensitive
      {M::kKeepOnly, {"filter_*"}, "filter_color", true},
      {M::kKeepOnly, {"filter_*"}, "filter_", true},
      {M::kKeepOnly, {"filter_*"}, "filter", false},
      {M::kKeepOnly, {}, "page", false},
      {M::kIgnore, {"utm_*", "fbclid"}, "utm_source", false},
      {M::kIgnore, {"utm_*", "fbclid"}, "fbclid", false},
      {M::kIgnore, {"utm_*", "fbclid"}, "fbclid2", true},
      {M::kIgnore, {"utm_*", "fbclid"}, "page", true},
      {M::kIgnore, {"*"}, "anything", false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    QueryPolicy policy;
    policy.mode = row.mode;
    policy.patterns = row.patterns;
    CHECK(policy.keeps(row.name) == row.keeps);
  }
}

TEST_CASE("a route matches its methods, and HEAD matches a GET route") {
  const Route get = makeRoute({"GET"}, "/a");
  CHECK(get.matchesMethod("GET"));
  CHECK(get.matchesMethod("HEAD"));
  CHECK_FALSE(get.matchesMethod("POST"));
  CHECK_FALSE(get.matchesMethod("get"));  // methods are case-sensitive (RFC 9110 §9.1)

  const Route write = makeRoute({"PUT", "PATCH", "DELETE"}, "/a");
  CHECK(write.matchesMethod("PATCH"));
  CHECK(write.matchesMethod("DELETE"));
  CHECK_FALSE(write.matchesMethod("HEAD"));
  CHECK_FALSE(write.matchesMethod("GET"));

  const Route head = makeRoute({"HEAD"}, "/a");
  CHECK(head.matchesMethod("HEAD"));
  CHECK_FALSE(head.matchesMethod("GET"));
}

TEST_CASE("route matching: first match wins, params come from the winner") {
  Config config;
  config.routes.push_back(makeRoute({"GET"}, "/api/products/featured"));
  config.routes.push_back(makeRoute({"GET"}, "/api/products/{id}"));
  config.routes.push_back(makeRoute({"PUT", "DELETE"}, "/api/products/{id}"));
  config.routes.push_back(makeRoute({"GET"}, "/static/*"));
  config.routes.push_back(makeRoute({"GET"}, "/api/products/{sku}"));  // shadowed by routes[1]

  struct Row {
    std::string_view method;
    std::string_view path;
    int route;  // index, or -1 for no match
    Params params;
  };
  const Row rows[] = {
      {"GET", "/api/products/featured", 0, {}},
      {"GET", "/api/products/42", 1, {{"id", "42"}}},
      {"HEAD", "/api/products/42", 1, {{"id", "42"}}},
      {"PUT", "/api/products/42", 2, {{"id", "42"}}},
      {"DELETE", "/api/products/featured", 2, {{"id", "featured"}}},
      {"GET", "/static/img/a.png", 3, {}},
      {"HEAD", "/static", 3, {}},
      {"POST", "/api/products/42", -1, {}},
      {"GET", "/api/products", -1, {}},
      {"GET", "/api/products/42/reviews", -1, {}},
      {"OPTIONS", "/static/x", -1, {}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.method);
    CAPTURE(row.path);
    Params params{{"left", "over"}};
    const Route* route = config.matchRoute(row.method, row.path, params);
    if (row.route < 0) {
      CHECK(route == nullptr);
    } else {
      REQUIRE(route != nullptr);
      CHECK(route == &config.routes[static_cast<size_t>(row.route)]);
    }
    CHECK(params == row.params);
  }
}

TEST_CASE("a config with no routes matches nothing") {
  Config config;
  Params params;
  CHECK(config.matchRoute("GET", "/", params) == nullptr);
  CHECK(params.empty());
}
