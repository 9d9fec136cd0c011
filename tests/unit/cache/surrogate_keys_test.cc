#include "cache/surrogate_keys.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "cache/key.h"

using namespace larder;
using namespace larder::cache;

namespace {

http::HeaderMap fields(std::initializer_list<std::pair<const char*, const char*>> list) {
  http::HeaderMap headers;
  for (const auto& [name, value] : list) headers.add(name, value);
  return headers;
}

}  // namespace

TEST_CASE("surrogate key names: space-separated, every field, de-duplicated, invalid ones ignored") {
  struct Row {
    const char* name;
    http::HeaderMap headers;
    std::vector<std::string> names;
    size_t ignored;
  };
  const std::string long_name(kMaxSurrogateKeyLength, 'k');
  const std::string too_long(kMaxSurrogateKeyLength + 1, 'k');
  const Row rows[] = {
      {"one", fields({{"Surrogate-Key", "product-7"}}), {"product-7"}, 0},
      {"several, tabs and runs of spaces", fields({{"Surrogate-Key", " a \tb   c "}}), {"a", "b", "c"}, 0},
      {"case-insensitive field name, every field",
       fields({{"surrogate-key", "a b"}, {"SURROGATE-KEY", "c"}}), {"a", "b", "c"}, 0},
      {"duplicates once", fields({{"Surrogate-Key", "a b a"}, {"Surrogate-Key", "b"}}), {"a", "b"}, 0},
      {"names are case-sensitive, punctuation kept", fields({{"Surrogate-Key", "A a a,b {x}"}}),
       {"A", "a", "a,b", "{x}"}, 0},
      {"empty field", fields({{"Surrogate-Key", ""}}), {}, 0},
      {"absent", fields({{"X-Other", "a"}}), {}, 0},
      {"control and non-ASCII bytes", fields({{"Surrogate-Key", "ok bad\x01 caf\xc3\xa9"}}), {"ok"}, 2},
      {"at the length bound", fields({{"Surrogate-Key", long_name.c_str()}}), {long_name}, 0},
      {"past the length bound", fields({{"Surrogate-Key", too_long.c_str()}}), {}, 1},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    SurrogateNames parsed = parseSurrogateKeys(row.headers, "Surrogate-Key");
    CHECK(parsed.names == row.names);
    CHECK(parsed.ignored == row.ignored);
  }
}

TEST_CASE("at most kMaxSurrogateKeys names per answer; the rest are ignored") {
  std::string value;
  for (size_t i = 0; i < kMaxSurrogateKeys + 3; ++i) value += fmt::format("k{} ", i);
  SurrogateNames parsed = parseSurrogateKeys(fields({{"Surrogate-Key", value.c_str()}}), "Surrogate-Key");
  REQUIRE(parsed.names.size() == kMaxSurrogateKeys);
  CHECK(parsed.names.front() == "k0");
  CHECK(parsed.names.back() == fmt::format("k{}", kMaxSurrogateKeys - 1));
  CHECK(parsed.ignored == 3);
}

TEST_CASE("a name's version key is the namespace sk:NAME, apart from route and URI namespaces") {
  CHECK(surrogateVersionKey("v1", "product-7") == namespaceKey("v1", "sk:product-7"));
  CHECK(surrogateVersionKey("v1", "product-7") != namespaceKey("v1", "product-7"));
  CHECK(surrogateVersionKey("v1", "*") != namespaceKey("v1", "*"));
  CHECK(surrogateVersionKey("v1", "uri:h/p") != namespaceKey("v1", uriNamespace("h", "/p")));
}

TEST_CASE("takeSurrogateKeys: version keys, the field stripped unless configured to keep it") {
  config::SurrogateKeyConfig config;
  http::HeaderMap headers = fields({{"Surrogate-Key", "a b"}, {"Content-Type", "text/plain"}});
  auto keys = takeSurrogateKeys(headers, "v1", config);
  REQUIRE(keys);
  CHECK(keys->version_keys == std::vector<std::string>{"v1:ns:sk:a", "v1:ns:sk:b"});
  CHECK_FALSE(headers.has("Surrogate-Key"));
  CHECK(headers.has("Content-Type"));

  config.strip = false;
  headers = fields({{"Surrogate-Key", "a"}});
  REQUIRE(takeSurrogateKeys(headers, "v1", config));
  CHECK(headers.has("Surrogate-Key"));

  SUBCASE("another field name") {
    config.header = "X-Cache-Tags";
    config.strip = true;
    headers = fields({{"Surrogate-Key", "a"}, {"X-Cache-Tags", "t"}});
    keys = takeSurrogateKeys(headers, "v1", config);
    REQUIRE(keys);
    CHECK(keys->version_keys == std::vector<std::string>{"v1:ns:sk:t"});
    CHECK(headers.has("Surrogate-Key"));
    CHECK_FALSE(headers.has("X-Cache-Tags"));
  }
  SUBCASE("no field: nothing named (a 304 then keeps the stored names)") {
    headers = fields({{"ETag", "\"e\""}});
    CHECK_FALSE(takeSurrogateKeys(headers, "v1", config));
    headers = fields({{"Surrogate-Key", ""}});
    keys = takeSurrogateKeys(headers, "v1", config);
    REQUIRE(keys);
    CHECK(keys->version_keys.empty());
  }
  SUBCASE("off: the field is neither read nor stripped") {
    config.enabled = false;
    config.strip = true;
    headers = fields({{"Surrogate-Key", "a"}});
    CHECK_FALSE(takeSurrogateKeys(headers, "v1", config));
    CHECK(headers.has("Surrogate-Key"));
    stripSurrogateKeys(headers, config);
    CHECK(headers.has("Surrogate-Key"));
  }
}

TEST_CASE("a fill answers a waiter that read its keys, or saw no invalidation since the leader's lookup") {
  const std::vector<std::string> answer = {"v:sk:a", "v:sk:b"};
  CHECK(fillServesLookup(answer, 10, {"v:x", "v:sk:a", "v:sk:b"}, 99));  // read: same tokens
  CHECK(fillServesLookup({}, 10, {}, 99));
  CHECK(fillServesLookup(answer, 10, {"v:sk:a"}, 10));  // no invalidation in between
  CHECK(fillServesLookup(answer, 10, {"v:sk:a"}, 9));   // the waiter looked up first
  // DESIGN invariant 3: an invalidation landed between the two lookups.
  CHECK_FALSE(fillServesLookup(answer, 10, {"v:sk:a"}, 11));
  CHECK_FALSE(fillServesLookup(answer, std::nullopt, {}, 1));
  CHECK(fillServesLookup(answer, std::nullopt, {}, std::nullopt));
}

TEST_CASE("SurrogateMemo remembers per entry key, forgets on empty, and starts over when full") {
  SurrogateMemo memo(2);
  CHECK(memo.find("e:1").empty());
  memo.remember("e:1", {"v:sk:a"});
  memo.remember("e:2", {"v:sk:b"});
  CHECK(memo.find("e:1") == std::vector<std::string>{"v:sk:a"});
  memo.remember("e:1", {"v:sk:c"});
  CHECK(memo.find("e:1") == std::vector<std::string>{"v:sk:c"});
  memo.remember("e:2", {});
  CHECK(memo.find("e:2").empty());
  memo.remember("e:2", {"v:sk:b"});
  memo.remember("e:3", {"v:sk:d"});  // full: starts over
  CHECK(memo.find("e:1").empty());
  CHECK(memo.find("e:3") == std::vector<std::string>{"v:sk:d"});
}
