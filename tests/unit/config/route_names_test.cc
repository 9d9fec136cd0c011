// Route names, shadow mode, the access-log format and the route-label bound
// (issue 15 items 1 and 3): defaults, validation and what bad input says.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "base/route_metrics.h"
#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;

namespace {

ConfigPtr loadRoutes(const std::string& yaml) { return loadOrFail(kUpstreamYaml + yaml); }

std::string routesErrors(const std::string& yaml) { return loadErrors(kUpstreamYaml + yaml); }

}  // namespace

TEST_CASE("a route's name defaults to its match text and can be set") {
  ConfigPtr config = loadRoutes(
      "routes:\n"
      "  - match: GET /products/{id}\n"
      "    ttl: 1m\n"
      "  - match: GET /products\n"
      "    name: product-list\n"
      "    ttl: 1m\n"
      "  - match: PUT|DELETE /products/{id}\n"
      "    name: \"product writes\"\n");
  REQUIRE(config->routes.size() == 3);
  CHECK(config->routes[0].name == "GET /products/{id}");
  CHECK(config->routes[1].name == "product-list");
  CHECK(config->routes[2].name == "product writes");
  CHECK_FALSE(config->routes[0].shadow);
}

TEST_CASE("route names must be unique, explicit or derived") {
  const std::string two_explicit = routesErrors(
      "routes:\n"
      "  - {match: GET /a, ttl: 1m, name: items}\n"
      "  - {match: GET /b, ttl: 1m, name: items}\n");
  CHECK(two_explicit.find("conf.yaml:5:") != std::string::npos);
  CHECK(two_explicit.find("routes[1].name: route name \"items\" is already used by routes[0] (line 4)") !=
        std::string::npos);
  // An explicit name that is another route's derived one.
  const std::string derived = routesErrors(
      "routes:\n"
      "  - {match: GET /a, ttl: 1m}\n"
      "  - {match: GET /b, ttl: 1m, name: GET /a}\n");
  CHECK(derived.find("routes[1].name: route name \"GET /a\" is already used by routes[0]") !=
        std::string::npos);
}

TEST_CASE("bad route names are refused with the reason") {
  struct Case {
    std::string name;
    std::string expected;
  };
  const Case cases[] = {
      {"\"\"", "must not be empty"},
      {"\"a\\\"b\"", "at most 128 printable ASCII characters"},
      {"\"a\\\\b\"", "at most 128 printable ASCII characters"},
      {"\"tab\\there\"", "at most 128 printable ASCII characters"},
      {"\"caf\\u00e9\"", "at most 128 printable ASCII characters"},
      {std::string(129, 'x'), "at most 128 printable ASCII characters"},
      {"\"-\"", "\"-\" is reserved"},
      {"other", "\"other\" is reserved"},
      {"[a, b]", "routes[0].name"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    const std::string errors = routesErrors("routes:\n  - {match: GET /a, ttl: 1m, name: " + c.name + "}\n");
    CHECK(errors.find(c.expected) != std::string::npos);
  }
  CHECK(loadRoutes("routes:\n  - {match: GET /a, ttl: 1m, name: " + std::string(128, 'x') + "}\n")->routes[0].name.size() ==
        128);
}

TEST_CASE("mode: shadow on read routes, with shadow_sample") {
  ConfigPtr config = loadRoutes(
      "routes:\n"
      "  - {match: GET /a, ttl: 1m, mode: shadow}\n"
      "  - {match: GET /b, ttl: 1m, mode: shadow, shadow_sample: 10%}\n"
      "  - {match: GET /c, ttl: 1m, mode: cache}\n"
      "  - {match: GET /d, ttl: 1m, mode: shadow, shadow_sample: 0%}\n");
  CHECK(config->routes[0].shadow);
  CHECK(config->routes[0].shadow_sample == doctest::Approx(1.0));
  CHECK(config->routes[1].shadow_sample == doctest::Approx(0.1));
  CHECK_FALSE(config->routes[2].shadow);
  CHECK(config->routes[3].shadow_sample == doctest::Approx(0.0));

  CHECK(routesErrors("routes:\n  - {match: PUT /a, mode: shadow}\n").find("routes[0].mode: only allowed on GET/HEAD routes") !=
        std::string::npos);
  CHECK(routesErrors("routes:\n  - {match: GET /a, ttl: 1m, mode: dry}\n")
            .find("routes[0].mode: must be \"cache\" or \"shadow\", not \"dry\"") != std::string::npos);
  CHECK(routesErrors("routes:\n  - {match: GET /a, ttl: 1m, shadow_sample: 5%}\n")
            .find("routes[0].shadow_sample: only applies to mode: shadow") != std::string::npos);
  for (std::string bad : {"101%", "10", "-1%", "ten%", "0.5"}) {
    CAPTURE(bad);
    CHECK(routesErrors("routes:\n  - {match: GET /a, ttl: 1m, mode: shadow, shadow_sample: \"" + bad + "\"}\n")
              .find("expected a percentage from 0% to 100%") != std::string::npos);
  }
  // The heuristic's percentage keeps refusing 0%.
  CHECK(routesErrors("routes:\n  - {match: GET /a, ttl: upstream, heuristic: 0%}\n").find("from 1% to 100%") !=
        std::string::npos);
}

TEST_CASE("log.access_format is text (default) or json") {
  CHECK(loadRoutes("")->log.access_format == LogConfig::AccessFormat::kText);
  CHECK(loadRoutes("log: {access_format: json}\n")->log.access_format == LogConfig::AccessFormat::kJson);
  CHECK(loadRoutes("log: {access_format: text}\n")->log.access_format == LogConfig::AccessFormat::kText);
  CHECK(routesErrors("log: {access_format: xml}\n").find("log.access_format: expected text or json, got \"xml\"") !=
        std::string::npos);
}

TEST_CASE("metrics.route_labels bounds the route label; routes past it count as other") {
  CHECK(loadRoutes("")->metrics.route_labels == 100);
  CHECK(routesErrors("metrics: {route_labels: 501}\n").find("metrics.route_labels") != std::string::npos);
  CHECK(routesErrors("metrics: {route_labels: lots}\n").find("metrics.route_labels") != std::string::npos);
  CHECK(routesErrors("metrics: {labels: 3}\n").find("metrics.labels") != std::string::npos);
  // 0: every route under "other", whatever names other tests registered.
  ConfigPtr none = loadRoutes("metrics: {route_labels: 0}\nroutes:\n  - {match: GET /zero-a, ttl: 1m}\n");
  CHECK(none->routes[0].metric_slot == larder::base::RouteLabels::kOther);
  // A name keeps its slot across loads (reloads), and distinct names differ.
  const std::string routes = "routes:\n  - {match: GET /slot-a, ttl: 1m}\n  - {match: GET /slot-b, ttl: 1m}\n";
  ConfigPtr first = loadRoutes("metrics: {route_labels: 500}\n" + routes);
  ConfigPtr again = loadRoutes("metrics: {route_labels: 500}\n" + routes);
  CHECK(first->routes[0].metric_slot > larder::base::RouteLabels::kOther);
  CHECK(first->routes[0].metric_slot != first->routes[1].metric_slot);
  CHECK(again->routes[0].metric_slot == first->routes[0].metric_slot);
  CHECK(again->routes[1].metric_slot == first->routes[1].metric_slot);
}
