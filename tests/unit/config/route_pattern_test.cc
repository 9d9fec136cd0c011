#include "config/route_pattern.h"

#include <doctest/doctest.h>

#include <string>
#include <string_view>

using namespace larder::config;

TEST_CASE("route patterns parse literal segments, {params} and a trailing *") {
  struct Row {
    std::string_view text;
    bool ok;
    std::vector<std::string> params;
  };
  const Row rows[] = {
      {"/", true, {}},
      {"/api/products", true, {}},
      {"/api/products/", true, {}},
      {"/api/products/{id}", true, {"id"}},
      {"/api/items/{item_id}/reviews/{review2}", true, {"item_id", "review2"}},
      {"/static/*", true, {}},
      {"/*", true, {}},
      {"/users/{id}/*", true, {"id"}},
      {"", false, {}},
      {"api/products", false, {}},  // must start with '/'
      {"/api//products", false, {}},
      {"/api/{id", false, {}},
      {"/api/id}", false, {}},
      {"/api/{}", false, {}},
      {"/api/{1id}", false, {}},
      {"/api/{id-x}", false, {}},
      {"/api/{id}.json", false, {}},  // a param is a whole segment
      {"/api/x{id}", false, {}},
      {"/api/{id}/{id}", false, {}},
      {"/static*", false, {}},
      {"/a/*/b", false, {}},
      {"/a/**", false, {}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.text);
    RoutePattern pattern;
    std::string error;
    REQUIRE(RoutePattern::parse(row.text, pattern, error) == row.ok);
    if (row.ok) {
      CHECK(pattern.paramNames() == row.params);
      CHECK(pattern.text() == row.text);
    } else {
      CHECK_FALSE(error.empty());
    }
  }
}

TEST_CASE("route patterns match whole segments and extract params") {
  struct Row {
    std::string_view pattern;
    std::string_view path;
    bool matches;
    Params params;
  };
  const Row rows[] = {
      {"/api/products", "/api/products", true, {}},
      {"/api/products", "/api/products/", false, {}},
      {"/api/products", "/api/product", false, {}},
      {"/api/products", "/api/productsx", false, {}},
      {"/api/products", "/API/products", false, {}},
      {"/api/products/", "/api/products/", true, {}},
      {"/api/products/{id}", "/api/products/42", true, {{"id", "42"}}},
      {"/api/products/{id}", "/api/products/", false, {}},  // a param is never empty
      {"/api/products/{id}", "/api/products/42/x", false, {}},
      {"/api/products/{id}", "/api/products", false, {}},
      {"/a/{x}/b/{y}", "/a/1/b/two", true, {{"x", "1"}, {"y", "two"}}},
      {"/a/{x}/b/{y}", "/a/1/c/two", false, {}},
      {"/static/*", "/static/css/site.css", true, {}},
      {"/static/*", "/static/", true, {}},
      {"/static/*", "/static", true, {}},
      {"/static/*", "/staticx", false, {}},
      {"/static/*", "/other/static", false, {}},
      {"/users/{id}/*", "/users/7/posts/1", true, {{"id", "7"}}},
      {"/users/{id}/*", "/users//posts", false, {}},
      {"/*", "/", true, {}},
      {"/*", "/anything/at/all", true, {}},
      {"/", "/", true, {}},
      {"/", "/x", false, {}},
      {"/api", "", false, {}},
      {"/api", "api", false, {}},
  };
  for (const Row& row : rows) {
    CAPTURE(row.pattern);
    CAPTURE(row.path);
    RoutePattern pattern;
    std::string error;
    REQUIRE(RoutePattern::parse(row.pattern, pattern, error));
    Params params{{"stale", "value"}};
    CHECK(pattern.match(row.path, params) == row.matches);
    CHECK(params == row.params);  // cleared on a miss, never left half-filled
  }
}

TEST_CASE("templates name only parameters of the pattern and expand them") {
  const std::vector<std::string> allowed{"id", "slug"};
  struct Row {
    std::string_view text;
    bool ok;
    std::string_view expanded;  // with id=42, slug=shoes
  };
  const Row rows[] = {
      {"products", true, "products"},
      {"product:{id}", true, "product:42"},
      {"{id}", true, "42"},
      {"cat:{slug}:p:{id}", true, "cat:shoes:p:42"},
      {"{slug}{id}", true, "shoes42"},
      {"", false, ""},
      {"product:{sku}", false, ""},  // not a parameter of the pattern
      {"product:{id", false, ""},
      {"product:id}", false, ""},
      {"product:{}", false, ""},
      {"product:{ id }", false, ""},
      {"{{id}}", false, ""},
  };
  const Params params{{"id", "42"}, {"slug", "shoes"}};
  for (const Row& row : rows) {
    CAPTURE(row.text);
    Template parsed;
    std::string error;
    REQUIRE(Template::parse(row.text, allowed, parsed, error) == row.ok);
    if (row.ok) {
      CHECK(parsed.expand(params) == row.expanded);
      CHECK(parsed.text() == row.text);
    } else {
      CHECK_FALSE(error.empty());
    }
  }
}

TEST_CASE("a template error names the unknown parameter") {
  Template parsed;
  std::string error;
  REQUIRE_FALSE(Template::parse("product:{sku}", {"id"}, parsed, error));
  CHECK(error.find("{sku}") != std::string::npos);
}
