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

// Every stored encoding is tagged afresh (cache/entry_codec.h, format 4): a
// store's kept copy of earlier bytes of the same key never passes for them.
TEST_CASE("every insert, a retry too, stores freshly tagged bytes") {
  InsertRequest first = insertAfter({"a", "b"});
  InsertRequest second = insertAfter({"a", "b"});
  REQUIRE_FALSE(entryTagOf(first.value).empty());
  CHECK(entryTagOf(first.value) != entryTagOf(second.value));
  InsertRequest refused = insertAfter({std::nullopt, "written"});
  auto retry = adoptCreatedVersions(refused, {std::string("+theirs"), std::string("written")});
  REQUIRE(retry);
  REQUIRE_FALSE(entryTagOf(retry->value).empty());
  CHECK(entryTagOf(retry->value) != entryTagOf(refused.value));
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

// ---- Surrogate keys: versions the lookup did not read ----------------------

TEST_CASE("tokenEpoch reads the epoch an invalidation stamped; a created token is epoch 0") {
  struct Row {
    std::string_view token;
    std::optional<uint64_t> epoch;
  };
  const Row rows[] = {
      {"1732300000000000.0123abcd", 1732300000000000},
      {"7.x", 7},
      {"+0123abcd", 0},
      {"+7.x", 0},
      // no epoch: written by something else than invalidate()
      {"0123abcd0123abcd0123abcd0123abcd", std::nullopt},
      {".x", std::nullopt},
      {"12a.x", std::nullopt},
      {"-1.x", std::nullopt},
      {"99999999999999999999999.x", std::nullopt},
      {"", std::nullopt},
  };
  for (const Row& row : rows) {
    CAPTURE(row.token);
    CHECK(tokenEpoch(row.token) == row.epoch);
  }
  CHECK(parseEpoch(std::string("1732300000000000")) == 1732300000000000u);
  CHECK_FALSE(parseEpoch(std::nullopt));
  CHECK_FALSE(parseEpoch(std::string("soon")));
  CHECK_FALSE(parseEpoch(std::string("")));
}

namespace {

// A lookup that read the route's two keys and one surrogate key in advance.
const std::vector<std::string> kRead = {"v:products", "v:*", "v:sk:read"};
const std::vector<std::optional<std::string>> kReadSeen = {"5.p", std::nullopt, "4.r"};
constexpr size_t kBase = 2;
constexpr uint64_t kLookupEpoch = 10;

std::optional<EntryVersions> versionsFor(const std::vector<std::string>& answer,
                                         const std::vector<std::optional<std::string>>& unread_now,
                                         std::optional<uint64_t> lookup_epoch = kLookupEpoch) {
  return entryVersions(kRead, kReadSeen, kBase, answer, unread_now, lookup_epoch);
}

}  // namespace

TEST_CASE("an entry's versions: the route's, then the answer's keys, read ones as the lookup saw them") {
  CHECK(unreadKeys({"v:sk:read", "v:sk:new", "v:*"}, kRead) == std::vector<std::string>{"v:sk:new"});
  auto versions = versionsFor({"v:sk:new", "v:sk:read", "v:*"}, {std::nullopt});
  REQUIRE(versions);
  // v:* is a route key already: not twice. v:sk:read was not named by a
  // previous answer only: it is kept because this answer names it.
  CHECK(versions->keys == std::vector<std::string>{"v:products", "v:*", "v:sk:new", "v:sk:read"});
  CHECK(versions->seen == std::vector<std::optional<std::string>>{"5.p", std::nullopt, std::nullopt, "4.r"});
  // A key read in advance that this answer does not name is dropped.
  auto untagged = versionsFor({}, {});
  REQUIRE(untagged);
  CHECK(untagged->keys == std::vector<std::string>{"v:products", "v:*"});
}

TEST_CASE("an unread key counts as seen when absent, created, or written at or before the lookup's epoch") {
  struct Row {
    const char* name;
    std::optional<std::string> now;
    std::optional<uint64_t> lookup_epoch;
    bool stored;
  };
  const Row rows[] = {
      {"absent: created if still absent", std::nullopt, kLookupEpoch, true},
      {"created by another insert", std::string("+abc"), kLookupEpoch, true},
      {"created, and the lookup saw no epoch", std::string("+abc"), std::nullopt, true},
      {"written before the lookup", std::string("9.abc"), kLookupEpoch, true},
      {"written by the epoch the lookup saw", std::string("10.abc"), kLookupEpoch, true},
      // DESIGN invariant 3: written after the lookup.
      {"written after the lookup", std::string("11.abc"), kLookupEpoch, false},
      {"written, and the lookup saw no epoch", std::string("1.abc"), std::nullopt, false},
      {"a token without an epoch", std::string("0123abcd"), kLookupEpoch, false},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    auto versions = versionsFor({"v:sk:new"}, {row.now}, row.lookup_epoch);
    REQUIRE(versions.has_value() == row.stored);
    if (!versions) continue;
    CHECK(versions->seen.back() == row.now);
    // The insert then expects it still absent (create) or unchanged.
    Entry entry;
    entry.ttl = 60s;
    InsertRequest insert = buildVersionedInsert("e:1", entry, versions->keys, versions->seen, 0ms);
    CHECK(insert.versions.back().create == !row.now.has_value());
    if (row.now) CHECK(insert.versions.back().token == *row.now);
  }
  // Fewer values read than unread keys: unknown, not stored.
  CHECK_FALSE(versionsFor({"v:sk:a", "v:sk:b"}, {std::nullopt}));
}

TEST_CASE("recorded versions hold only if the route's match exactly; unread surrogate keys are reported") {
  Entry entry;
  entry.versions = {{"v:products", "5.p"}, {"v:*", "+s"}, {"v:sk:read", "4.r"}, {"v:sk:other", "3.o"}};
  const std::vector<std::optional<std::string>> seen = {"5.p", "+s", "4.r"};
  std::vector<std::string> unread;
  CHECK(recordedVersionsHold(entry, kRead, seen, kBase, unread));
  CHECK(unread == std::vector<std::string>{"v:sk:other"});

  auto holds = [&](const Entry& e, const std::vector<std::optional<std::string>>& s) {
    std::vector<std::string> ignored;
    return recordedVersionsHold(e, kRead, s, kBase, ignored);
  };
  CHECK_FALSE(holds(entry, {"6.p", "+s", "4.r"}));          // a route namespace was written
  CHECK_FALSE(holds(entry, {"5.p", std::nullopt, "4.r"}));  // evicted: never matches (invariant 4)
  CHECK_FALSE(holds(entry, {"5.p", "+s", "11.r"}));         // a surrogate key read in advance was written
  Entry other_route = entry;
  other_route.versions[0].first = "v:categories";
  CHECK_FALSE(holds(other_route, seen));
  Entry too_few = entry;
  too_few.versions.resize(1);
  CHECK_FALSE(holds(too_few, seen));
  Entry untagged = entry;
  untagged.versions.resize(2);  // no surrogate keys: the one read in advance does not matter
  CHECK(holds(untagged, seen));
}
