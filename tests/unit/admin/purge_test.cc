#include <doctest/doctest.h>

#include "admin/admin_api.h"
#include "admin/purge.h"
#include "cache/key.h"
#include "config/loader.h"

using namespace larder;
using namespace larder::admin;

TEST_CASE("percent-decoding of purge subjects") {
  struct Row {
    std::string_view in;
    std::optional<std::string> out;
  };
  for (const Row& row : {Row{"products", "products"}, Row{"product%3A42", "product:42"},
                         Row{"a%2fb", "a/b"}, Row{"a+b", "a+b"}, Row{"", ""},
                         Row{"%", std::nullopt}, Row{"%4", std::nullopt}, Row{"%zz", std::nullopt}}) {
    CAPTURE(row.in);
    CHECK(percentDecode(row.in) == row.out);
  }
}

TEST_CASE("a namespace purge names that namespace; bad names are refused") {
  std::string error;
  auto purge = namespacePurge("product%3A42", error);
  REQUIRE(purge);
  CHECK(purge->ns == "product:42");
  CHECK(purge->scope == base::metrics::PurgeScope::kNamespace);
  CHECK_FALSE(namespacePurge("", error));
  CHECK_FALSE(namespacePurge("a%0Ab", error));
  CHECK_FALSE(namespacePurge("%G1", error));
}

TEST_CASE("a URL purge names the implicit namespace the proxy files entries under") {
  std::string error;
  struct Row {
    std::string_view url;
    std::string_view host;
    std::string_view path;
  };
  for (const Row& row : {Row{"http://api.example.com/products/1?page=2", "api.example.com", "/products/1"},
                         Row{"http://API.example.com:80/a/../b", "api.example.com", "/b"},
                         Row{"https://h:8443/x", "h:8443", "/x"},
                         Row{"http://h", "h", "/"}}) {
    CAPTURE(row.url);
    auto purge = urlPurge(row.url, error);
    REQUIRE(purge);
    CHECK(purge->ns == cache::uriNamespace(row.host, row.path));
  }
  CHECK_FALSE(urlPurge("", error));
  CHECK_FALSE(urlPurge("/products/1", error));
  CHECK_FALSE(urlPurge("ftp://h/x", error));
}

TEST_CASE("a purge writes one fresh token under the key prefix with the 7-day version TTL") {
  auto first = makeInvalidation("v1", everythingPurge());
  auto second = makeInvalidation("v1", everythingPurge());
  REQUIRE(first.version_keys.size() == 1);
  CHECK(first.version_keys[0] == cache::namespaceKey("v1", "*"));
  CHECK(first.tokens.size() == 1);
  CHECK(first.tokens[0] != second.tokens[0]);
  CHECK(first.version_ttl == std::chrono::hours(24 * 7));
  CHECK(first.epoch_key == cache::epochKey("v1"));
}

TEST_CASE("JSON strings escape quotes, backslashes and control bytes") {
  CHECK(jsonString("a\"b\\c\n\x01") == "\"a\\\"b\\\\c\\n\\u0001\"");
}

TEST_CASE("a namespace purge of a name no read route uses carries a warning; it is still a purge") {
  auto loaded = config::loadConfigString(
      "upstream:\n  servers: [127.0.0.1:8000]\n"
      "routes:\n"
      "  - match: GET /api/products/{id}\n"
      "    ttl: 1h\n"
      "    namespaces: [products, \"product:{id}\"]\n",
      "conf.yaml");
  REQUIRE(loaded.ok());
  const config::NamespaceIndex index((*loaded)->routes);
  std::string error;
  struct Row {
    std::string_view encoded;
    bool warns;
  };
  for (const Row& row : {Row{"nosuchns", true}, Row{"prodcts", true}, Row{"products", false},
                         Row{"product%3A42", false}, Row{"sk%3Aproduct-42", false}, Row{"%2A", false}}) {
    CAPTURE(row.encoded);
    auto purge = namespacePurge(row.encoded, error);
    REQUIRE(purge);
    auto warning = purgeWarning(*purge, index);
    CHECK(warning.has_value() == row.warns);
    if (warning) {
      CHECK(warning->find("no route uses the namespace \"" + purge->ns + "\"") != std::string::npos);
      CHECK(warning->find("purged anyway") != std::string::npos);
    }
    // The invalidation itself does not depend on the warning.
    CHECK(makeInvalidation("v1", *purge).version_keys[0] == cache::namespaceKey("v1", purge->ns));
  }
  // URL and everything purges name implicit namespaces: never a warning.
  CHECK_FALSE(purgeWarning(everythingPurge(), index));
  auto url = urlPurge("http://example.com/nothing/here", error);
  REQUIRE(url);
  CHECK_FALSE(purgeWarning(*url, index));
}
