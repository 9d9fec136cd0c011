// The route-matching rule (issue #10 item 11, DESIGN invariant 13): trailing
// slash and letter case, lenient for writes and exact for reads by default,
// with a global route_matching: section and per-route overrides.
#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"
#include "config/route_pattern.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;

namespace {

const std::string kRoutes =
    "routes:\n"
    "  - match: GET /api/products/{id}\n"
    "    ttl: 1h\n"
    "    namespaces: [products, \"product:{id}\"]\n"
    "  - match: PUT|PATCH|DELETE /api/products/{id}\n"
    "    invalidates: [products, \"product:{id}\"]\n";

// The index of the route `method path` matches, or -1; its params in `params`.
int matched(const Config& config, std::string_view method, std::string_view path, Params& params) {
  const Route* route = config.matchRoute(method, path, params);
  return route == nullptr ? -1 : static_cast<int>(route - config.routes.data());
}

}  // namespace

TEST_CASE("path matching: one trailing slash and letter case, each on its own") {
  struct Row {
    std::string_view pattern;
    PathMatching matching;
    std::string_view path;
    bool matches;
    Params params;
  };
  const PathMatching exact{false, false};
  const PathMatching slash{true, false};
  const PathMatching fold{false, true};
  const PathMatching both{true, true};
  const Row rows[] = {
      {"/api/products/{id}", exact, "/api/products/7/", false, {}},
      {"/api/products/{id}", slash, "/api/products/7/", true, {{"id", "7"}}},
      {"/api/products/{id}", slash, "/api/products/7//", false, {}},  // one slash only
      {"/api/products/{id}", slash, "/API/products/7", false, {}},
      {"/api/products/{id}", fold, "/API/Products/7", true, {{"id", "7"}}},
      {"/api/products/{id}", fold, "/api/products/7/", false, {}},
      {"/api/products/{id}", both, "/API/products/AbC/", true, {{"id", "AbC"}}},  // values as spelled
      {"/api/products/{id}", both, "/api/products/", false, {}},  // a param is never empty
      {"/api/products/{id}", both, "/api/products", false, {}},
      {"/api/products/", slash, "/api/products", true, {}},  // the pattern's slash too
      {"/api/products/", slash, "/api/products/", true, {}},
      {"/api/products/", exact, "/api/products", false, {}},
      {"/api/products", both, "/api/productsx", false, {}},
      {"/api/products", both, "/api/products/x", false, {}},
      {"/", both, "/", true, {}},
      {"/", both, "//", true, {}},
      {"/", slash, "/x", false, {}},
      {"/static/*", both, "/STATIC/css/a.css", true, {}},
      {"/static/*", both, "/Static/", true, {}},
      {"/static/*", fold, "/staticx", false, {}},
      {"/ÄPI/x", fold, "/äpi/x", false, {}},  // ASCII letters only
  };
  for (const Row& row : rows) {
    CAPTURE(row.pattern);
    CAPTURE(row.path);
    CAPTURE(row.matching.ignore_trailing_slash);
    CAPTURE(row.matching.case_insensitive);
    RoutePattern pattern;
    std::string error;
    REQUIRE(RoutePattern::parse(row.pattern, pattern, error));
    pattern.setMatching(row.matching);
    Params params{{"stale", "value"}};
    CHECK(pattern.match(row.path, params) == row.matches);
    CHECK(params == row.params);
  }
}

TEST_CASE("by default write routes ignore a trailing slash and case; read routes match exactly") {
  ConfigPtr config = loadOrFail(kUpstreamYaml + kRoutes);
  CHECK(config->route_matching.writes == PathMatching{true, true});
  CHECK(config->route_matching.reads == PathMatching{false, false});
  struct Row {
    std::string_view method;
    std::string_view path;
    int route;
  };
  for (const Row& row : {Row{"PUT", "/api/products/7/", 1}, Row{"PUT", "/API/products/7", 1},
                         Row{"DELETE", "/Api/Products/7/", 1}, Row{"GET", "/api/products/7", 0},
                         Row{"GET", "/api/products/7/", -1}, Row{"GET", "/API/products/7", -1},
                         Row{"HEAD", "/API/products/7", -1}}) {
    CAPTURE(row.method);
    CAPTURE(row.path);
    Params params;
    CHECK(matched(*config, row.method, row.path, params) == row.route);
    if (row.route >= 0) CHECK(params == Params{{"id", "7"}});
  }
  CHECK(config->warnings.empty());
}

TEST_CASE("route_matching: sets the defaults of each kind; a route's own keys override them") {
  ConfigPtr config = loadOrFail(kUpstreamYaml +
                          "route_matching:\n"
                          "  reads: { case: insensitive, trailing_slash: ignore }\n"
                          "  writes: { trailing_slash: strict }\n" +
                          kRoutes +
                          "  - match: POST /api/Orders\n"
                          "    case: sensitive\n"
                          "  - match: GET /api/Static\n"
                          "    ttl: 1m\n"
                          "    case: sensitive\n"
                          "    trailing_slash: strict\n");
  CHECK(config->route_matching.reads == PathMatching{true, true});
  CHECK(config->route_matching.writes == PathMatching{false, true});  // case kept its default
  Params params;
  CHECK(matched(*config, "GET", "/API/products/7/", params) == 0);
  CHECK(matched(*config, "PUT", "/API/products/7", params) == 1);
  CHECK(matched(*config, "PUT", "/api/products/7/", params) == -1);
  CHECK(matched(*config, "POST", "/api/Orders", params) == 2);
  CHECK(matched(*config, "POST", "/api/orders", params) == -1);
  CHECK(matched(*config, "GET", "/api/Static", params) == 3);
  CHECK(matched(*config, "GET", "/api/static", params) == -1);
  CHECK(matched(*config, "GET", "/api/Static/", params) == -1);
}

TEST_CASE("bad route_matching values get an error naming the key, at its line") {
  struct Row {
    std::string yaml;
    std::string_view expected;
  };
  const Row rows[] = {
      {"route_matching:\n  writes: { trailing_slash: sometimes }\n",
       "conf.yaml:4:29: route_matching.writes.trailing_slash: expected ignore or strict, got \"sometimes\""},
      {"route_matching:\n  reads: { case: upper }\n",
       "route_matching.reads.case: expected insensitive or sensitive, got \"upper\""},
      {"route_matching:\n  reads: { case: [a] }\n", "route_matching.reads.case"},
      {"route_matching:\n  writes: { slash: ignore }\n", "route_matching.writes.slash"},
      {"route_matching:\n  deletes: { case: sensitive }\n", "route_matching.deletes"},
      {"route_matching: lenient\n", "route_matching"},
      {"routes:\n  - match: PUT /a\n    case: yes\n",
       "routes[0].case: expected insensitive or sensitive, got \"yes\""},
      {"routes:\n  - match: GET /a\n    ttl: 1m\n    trailing_slash: true\n",
       "routes[0].trailing_slash: expected ignore or strict, got \"true\""},
  };
  for (const Row& row : rows) {
    CAPTURE(row.yaml);
    const std::string errors = loadErrors(kUpstreamYaml + row.yaml);
    CHECK(errors.find(row.expected) != std::string::npos);
  }
}
