// Checks across the route list (config/route_checks.h): unreachable routes
// are errors, overlaps under the matching rule and invalidated namespaces no
// read route uses are warnings; all of it in linear time, shown on a config
// of 200,000 routes (issue #10 items 11, 14 and 15).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <string>

#include "base/route_metrics.h"
#include "config/loader.h"
#include "config_yaml.h"

using namespace larder::config;
using namespace larder::test;

namespace {

const std::string kUpstreamAndRoutes = "upstream:\n  servers: [127.0.0.1:8000]\nroutes:\n";

std::string warningsOf(const std::string& routes) {
  std::string out;
  const ConfigPtr config = loadOrFail(kUpstreamAndRoutes + routes);
  for (const std::string& warning : config->warnings) out += warning + "\n";
  return out;
}

std::string routeErrorsOf(const std::string& routes) {
  auto result = loadConfigString(kUpstreamAndRoutes + routes, "conf.yaml");
  std::string out;
  if (!result.ok())
    for (const ConfigError& error : result.error()) out += error.toString() + "\n";
  return out;
}

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Peak resident memory of this process, in KiB (0 if unknown).
long peakRssKib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  return 0;
}

}  // namespace

TEST_CASE("a route with the same path as an earlier one and no other method is an error") {
  const std::string errors = routeErrorsOf(
      "  - match: PUT|DELETE /api/items/{id}\n"
      "  - match: DELETE /api/items/{id}\n"
      "  - match: GET /api/items/{id}\n"
      "    ttl: 1m\n"
      "  - match: HEAD /api/items/{id}\n"
      "    ttl: 1m\n");
  CHECK(errors.find("conf.yaml:5:5: routes[1].match: unreachable: routes[0] (line 4)") != std::string::npos);
  CHECK(errors.find("routes[3].match: unreachable: routes[2] (line 6)") != std::string::npos);  // GET serves HEAD
  CHECK(count(errors, "unreachable") == 2);
}

TEST_CASE("routes that match the same requests under the matching rule get a warning naming both") {
  struct Row {
    std::string routes;
    std::string_view expected;  // "" = no warning
  };
  const Row rows[] = {
      // Writes fold case and ignore a trailing slash by default.
      {"  - match: PUT /api/products/{id}\n  - match: PUT /API/Products/{pid}\n",
       "conf.yaml:5:5: warning: routes[1].match: overlaps routes[0] (line 4, \"PUT /api/products/{id}\"): "
       "both match the same requests because letter case is ignored (case: insensitive); routes[0] "
       "comes first and wins for PUT, so this route never matches"},
      {"  - match: POST /api/orders\n  - match: POST /api/orders/\n",
       "because one trailing slash is ignored (trailing_slash: ignore)"},
      {"  - match: POST /api/orders\n  - match: POST|PUT /API/orders/\n",
       "letter case is ignored (case: insensitive) and one trailing slash is ignored (trailing_slash: "
       "ignore); routes[0] comes first and wins for POST\n"},
      // Reads match exactly by default: these are distinct.
      {"  - match: GET /api/a\n    ttl: 1m\n  - match: GET /API/a\n    ttl: 1m\n", ""},
      {"  - match: GET /api/a\n    ttl: 1m\n  - match: GET /api/a/\n    ttl: 1m\n", ""},
      // Different methods never overlap.
      {"  - match: PUT /api/a\n  - match: POST /API/a\n", ""},
      // One lenient route is enough: it takes the other's spelling too.
      {"  - match: GET /api/a\n    ttl: 1m\n    case: insensitive\n  - match: GET /API/a\n    ttl: 1m\n",
       "routes[1].match: overlaps routes[0]"},
      {"  - match: GET /API/a\n    ttl: 1m\n  - match: GET /api/a\n    ttl: 1m\n    case: insensitive\n",
       "routes[1].match: overlaps routes[0]"},
      // Parameter names do not make paths differ.
      {"  - match: GET /a/{id}\n    ttl: 1m\n  - match: GET|HEAD /a/{sku}\n    ttl: 1m\n",
       "because their paths are the same pattern; routes[0] comes first and wins for GET|HEAD, so this "
       "route never matches"},
      // Same path, methods shared only in part: a warning, not an error.
      {"  - match: PUT|PATCH /a\n  - match: PATCH|DELETE /a\n", "wins for PATCH\n"},
      {"  - match: PUT /a/{x}/b\n  - match: PUT /a/b/{x}\n", ""},
      {"  - match: PUT /static/*\n  - match: PUT /STATIC/*\n", "routes[1].match: overlaps routes[0]"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.routes);
    const std::string warnings = warningsOf(row.routes);
    if (row.expected.empty()) {
      CHECK(warnings == "");
    } else {
      CHECK(warnings.find(row.expected) != std::string::npos);
      CHECK(count(warnings, "warning:") == 1);
    }
  }
}

TEST_CASE("an invalidated namespace that no read route uses gets a warning; templates are compared") {
  const std::string reads =
      "  - match: GET /api/products/{id}\n"
      "    ttl: 1h\n"
      "    namespaces: [products, \"product:{id}\", \"shop:{id}:stock\"]\n"
      "  - match: GET /api/featured\n"
      "    ttl: 1h\n"
      "    namespaces: [\"product:featured\"]\n";
  struct Row {
    std::string_view invalidates;
    bool warns;
  };
  const Row rows[] = {
      {"[prodcts]", true},                  // the typo of the issue
      {"[products]", false},
      {"[\"product:{sku}\"]", false},       // same template, another parameter name
      {"[\"product:7\"]", false},           // one of product:{id}'s names
      {"[\"product:{sku}:x\"]", false},     // product:{id} may hold "1:x"
      {"[\"prod:{sku}\"]", true},
      {"[\"{sku}\"]", false},               // could be any name
      {"[\"{sku}:featured\"]", false},
      {"[\"shop:{sku}\"]", false},          // shop:{id}:stock when sku is "1:stock"
      {"[\"shop:{sku}:stocks\"]", true},
      {"[\"sk:product-7\"]", false},        // Surrogate-Key names are dynamic
      {"[\"sk:{sku}\"]", false},
      {"[\"uri:example.com/x\"]", false},
      {"[productsx]", true},
      {"[product]", true},
  };
  for (const Row& row : rows) {
    CAPTURE(row.invalidates);
    const std::string warnings =
        warningsOf(reads + "  - match: PUT /api/items/{sku}\n    invalidates: " + std::string(row.invalidates) + "\n");
    if (row.warns) {
      CHECK(warnings.find("conf.yaml:11:19: warning: routes[2].invalidates[0]: ") != std::string::npos);
      CHECK(warnings.find("is not a namespace of any read route") != std::string::npos);
    } else {
      CHECK(warnings == "");
    }
  }
  // Each entry on its own, at its own column.
  const std::string warnings =
      warningsOf(reads + "  - match: PUT /api/items/{sku}\n    invalidates: [products, prodcts, catgories]\n");
  CHECK(warnings.find("conf.yaml:11:29: warning: routes[2].invalidates[1]: \"prodcts\"") != std::string::npos);
  CHECK(warnings.find("conf.yaml:11:38: warning: routes[2].invalidates[2]: \"catgories\"") != std::string::npos);
  CHECK(count(warnings, "warning:") == 2);
}

TEST_CASE("warnings do not fail the load, and the shipped example has none") {
  auto result = loadConfigString(kUpstreamAndRoutes + "  - match: PUT /a\n    invalidates: [nothing]\n", "conf.yaml");
  REQUIRE(result.ok());
  CHECK(result.value()->warnings.size() == 1);
  CHECK(result.value()->routes.size() == 1);
#ifdef LARDER_SOURCE_DIR
  auto example = loadConfigFile(std::string(LARDER_SOURCE_DIR) + "/conf/larder.yaml");
  REQUIRE(example.ok());
  for (const std::string& warning : example.value()->warnings) MESSAGE(warning);
  CHECK(example.value()->warnings.empty());
#endif
}

// Issue #10 item 14: the old unreachable-route check compared every pair
// (200,000 routes: minutes). No timing assert: it completes within the ctest
// timeout, finds what it must, and stays within a sane amount of memory.
// Sanitizers multiply memory and time: a quarter of the routes, no peak check.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST_CASE("a config of 200,000 routes loads and is fully checked") {
  constexpr size_t kRoutes = kSanitized ? 50000 : 200000;
  std::string yaml = kUpstreamAndRoutes;
  yaml.reserve(kRoutes * 80);
  for (size_t i = 0; i < kRoutes / 2; ++i) {
    yaml += fmt::format("  - {{match: \"GET /api/r{0}/items/{{id}}\", ttl: 5m, namespaces: [r{0}, \"r{0}:{{id}}\"]}}\n", i);
    yaml += fmt::format("  - {{match: \"PUT|DELETE /api/r{0}/items/{{id}}\", invalidates: [r{0}, \"r{0}:{{id}}\"]}}\n", i);
  }
  // One of each finding, at the end, where a bounded search would give up.
  yaml += "  - {match: \"PUT /API/r7/items/{sku}/\", invalidates: [r7]}\n";
  yaml += "  - {match: \"POST /api/r8/items\", invalidates: [r8s]}\n";
  auto result = loadConfigString(yaml, "big.yaml");
  REQUIRE(result.ok());
  const Config& config = **result;
  CHECK(config.routes.size() == kRoutes + 2);
  REQUIRE(config.warnings.size() == 2);
  CHECK(config.warnings[0].find(fmt::format("routes[{}].match: overlaps routes[15]", kRoutes)) != std::string::npos);
  CHECK(config.warnings[1].find(fmt::format("routes[{}].invalidates[0]: \"r8s\"", kRoutes + 1)) !=
        std::string::npos);
  // Issue 15: every route has a unique name and a bounded metrics slot:
  // past metrics.route_labels (100 by default) they share route="other".
  std::set<uint32_t> slots;
  for (const Route& route : config.routes) slots.insert(route.metric_slot);
  CHECK(slots.size() <= 101);
  CHECK(config.routes.back().metric_slot == larder::base::RouteLabels::kOther);
  const long peak = peakRssKib();
  MESSAGE("peak RSS after loading " << kRoutes << " routes: " << peak / 1024 << " MiB");
  if (!kSanitized) CHECK(peak < 2L * 1024 * 1024);  // yaml-cpp's tree is most of it
}
