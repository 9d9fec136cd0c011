#include "cache/versioned_insert.h"

#include <doctest/doctest.h>

using namespace larder;
using namespace larder::cache;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> kVersionKeys = {"v:products", "v:*"};

// An insert for an entry whose lookup saw `seen`.
InsertRequest insertAfter(const std::vector<std::optional<std::string>>& seen) {
  Entry entry;
  entry.body = "answer";
  entry.ttl = 60s;
  return buildVersionedInsert("e:1", entry, kVersionKeys, seen, 0ms);
}

}  // namespace

TEST_CASE("an absent version gets a created token; a present one is expected unchanged") {
  InsertRequest insert = insertAfter({std::nullopt, "written"});
  REQUIRE(insert.versions.size() == 2);
  CHECK(insert.versions[0].create);
  CHECK(insert.versions[0].token.starts_with(kCreatedTokenPrefix));
  CHECK_FALSE(insert.versions[1].create);
  CHECK(insert.versions[1].token == "written");
  CHECK(createsVersions(insert));
  CHECK_FALSE(createsVersions(insertAfter({"a", "b"})));
  auto entry = decodeEntry(insert.value);
  REQUIRE(entry);
  CHECK(entry->versions[0] == std::pair<std::string, std::string>(kVersionKeys[0], insert.versions[0].token));
}

TEST_CASE("a refused insert adopts tokens another insert created, and records them in the entry") {
  InsertRequest refused = insertAfter({std::nullopt, "written"});
  auto retry = adoptCreatedVersions(refused, {std::string("+theirs"), std::string("written")});
  REQUIRE(retry);
  CHECK(retry->key == refused.key);
  CHECK(retry->ttl == refused.ttl);
  CHECK_FALSE(retry->versions[0].create);
  CHECK(retry->versions[0].token == "+theirs");
  CHECK(retry->versions[1].token == "written");
  auto entry = decodeEntry(retry->value);
  REQUIRE(entry);
  CHECK(entry->body == "answer");
  CHECK(entry->versions[0].second == "+theirs");
  CHECK(entry->versions[1].second == "written");
}

TEST_CASE("a write's token is never adopted (DESIGN invariant 3)") {
  InsertRequest refused = insertAfter({std::nullopt, "written"});
  SUBCASE("an absent version now holds a write's token") {
    CHECK_FALSE(adoptCreatedVersions(refused, {std::string("by-a-write"), std::string("written")}));
  }
  SUBCASE("a present version changed, even to a created-looking token") {
    CHECK_FALSE(adoptCreatedVersions(refused, {std::string("+theirs"), std::string("+other")}));
  }
  SUBCASE("a present version was evicted") {
    CHECK_FALSE(adoptCreatedVersions(refused, {std::string("+theirs"), std::nullopt}));
  }
  SUBCASE("nothing to adopt: the refusal was not about creation") {
    CHECK_FALSE(adoptCreatedVersions(refused, {std::nullopt, std::string("written")}));
  }
  SUBCASE("the store's answer does not fit the request") {
    CHECK_FALSE(adoptCreatedVersions(refused, {std::string("+theirs")}));
  }
}
