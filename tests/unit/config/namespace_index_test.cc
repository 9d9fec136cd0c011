#include "config/namespace_index.h"

#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"

using namespace larder::config;

namespace {

// "{}" in a row stands for a parameter.
std::string shape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.substr(i, 2) == "{}") {
      out += kParam;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("two templates overlap when one string can be both; a parameter is one or more characters") {
  struct Row {
    std::string_view a;
    std::string_view b;
    bool overlap;
  };
  const Row rows[] = {
      {"products", "products", true},
      {"products", "prodcts", false},
      {"product:{}", "product:7", true},
      {"product:{}", "product:", false},  // never empty
      {"product:{}", "product:{}", true},
      {"product:{}", "prod:{}", false},
      {"{}", "anything", true},
      {"{}", "", false},
      {"{}:{}", "a:b", true},
      {"{}:{}", "ab", false},
      {"a{}c", "{}bc", true},
      {"a{}c", "{}bd", false},
      {"shop:{}", "shop:{}:stock", true},
      {"shop:{}:stocks", "shop:{}:stock", false},
      {"x{}y{}z", "xyz", false},
      {"x{}y{}z", "x1y2z", true},
      {"{}{}", "a", false},
      {"{}{}", "ab", true},
  };
  for (const Row& row : rows) {
    CAPTURE(row.a);
    CAPTURE(row.b);
    CHECK(shapesOverlap(shape(row.a), shape(row.b)) == row.overlap);
    CHECK(shapesOverlap(shape(row.b), shape(row.a)) == row.overlap);
  }
}

TEST_CASE("a purged name is in use when a read route's namespaces may produce it, or larder does") {
  auto result = loadConfigString(
      "upstream:\n  servers: [127.0.0.1:8000]\n"
      "routes:\n"
      "  - match: GET /api/products/{id}\n"
      "    ttl: 1h\n"
      "    namespaces: [products, \"product:{id}\"]\n"
      "  - match: PUT /api/orders/{id}\n"
      "    invalidates: [\"orders\"]\n",  // a write's names are not entries' names
      "conf.yaml");
  REQUIRE(result.ok());
  const NamespaceIndex index((*result)->routes);
  struct Row {
    std::string_view name;
    bool used;
  };
  for (const Row& row : {Row{"products", true}, Row{"product:42", true}, Row{"product:", false},
                         Row{"prodcts", false}, Row{"nosuchns", false}, Row{"orders", false},
                         Row{"sk:anything", true}, Row{"uri:example.com/api/x", true}, Row{"*", true},
                         Row{"Products", false}}) {
    CAPTURE(row.name);
    CHECK(index.mayHold(row.name) == row.used);
  }
  const NamespaceIndex empty(std::vector<Route>{});
  CHECK_FALSE(empty.mayHold("products"));
  CHECK(empty.mayHold("sk:x"));
}
