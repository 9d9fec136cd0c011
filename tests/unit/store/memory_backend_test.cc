#include "store/memory/memory_backend.h"

#include <doctest/doctest.h>

#include <string>

using namespace larder;
using namespace std::chrono_literals;
using store::MemoryBackend;

namespace {

struct Clocked {
  base::MonoTime now = base::MonoTime{} + std::chrono::hours(1);
  MemoryBackend backend;
  explicit Clocked(size_t max_bytes) : backend(max_bytes, [this] { return now; }) {}
};

cache::InsertRequest entry(std::string key, std::string value,
                           std::chrono::milliseconds ttl = 60s) {
  cache::InsertRequest request;
  request.key = std::move(key);
  request.value = std::move(value);
  request.ttl = ttl;
  request.version_ttl = 600s;
  return request;
}

}  // namespace

TEST_CASE("memory: entries and version keys expire on the injected clock") {
  Clocked c(1 << 20);
  auto request = entry("e", "body", 10s);
  request.versions = {{"v", "tok", true}};
  request.version_ttl = 100s;
  REQUIRE(c.backend.insert(request) == cache::InsertOutcome::kStored);

  c.now += 9s;
  auto result = c.backend.lookup({"v"}, "e");
  CHECK(result.entry == "body");
  c.now += 1s;  // exactly at the expiry: gone
  result = c.backend.lookup({"v"}, "e");
  CHECK_FALSE(result.entry.has_value());
  CHECK(result.versions[0] == "tok");
  c.now += 90s;
  CHECK_FALSE(c.backend.lookup({"v"}, "e").versions[0].has_value());
  CHECK(c.backend.stats().items == 0);
  CHECK(c.backend.stats().bytes == 0);
}

TEST_CASE("memory: an insert under an existing version only raises its TTL") {
  Clocked c(1 << 20);
  cache::Invalidation invalidation{{"v"}, {"written"}, 100s, "epoch"};
  REQUIRE(c.backend.invalidate(invalidation) == cache::StoreStatus::kOk);
  const std::string tok = c.backend.lookup({"v"}, "").versions[0].value_or("");
  REQUIRE(tok.ends_with(".written"));

  auto shorter = entry("e1", "x");
  shorter.versions = {{"v", tok, false}};
  shorter.version_ttl = 10s;
  REQUIRE(c.backend.insert(shorter) == cache::InsertOutcome::kStored);
  c.now += 50s;
  CHECK(c.backend.lookup({"v"}, "e1").versions[0] == tok);

  auto longer = entry("e2", "x");
  longer.versions = {{"v", tok, false}};
  longer.version_ttl = 200s;
  REQUIRE(c.backend.insert(longer) == cache::InsertOutcome::kStored);
  c.now += 150s;  // past the invalidation's 100s, within the raised 200s
  CHECK(c.backend.lookup({"v"}, "e2").versions[0] == tok);
}

TEST_CASE("memory: the LRU never exceeds its byte bound and evicts the coldest first") {
  const size_t bound = 16 * 1024;
  Clocked c(bound);
  const std::string value(200, 'x');
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(c.backend.insert(entry("e:" + std::to_string(i), value)) ==
            cache::InsertOutcome::kStored);
    // Touch e:0 now and then: recently used survives.
    if (i % 10 == 0) REQUIRE(c.backend.lookup({}, "e:0").entry == value);
    auto stats = c.backend.stats();
    REQUIRE(stats.bytes <= bound);
  }
  auto stats = c.backend.stats();
  CHECK(stats.evictions > 0);
  CHECK(stats.items > 10);
  CHECK(stats.bytes + MemoryBackend::kItemOverhead + 210 > bound);  // nearly full
  CHECK(c.backend.lookup({}, "e:0").entry == value);
  CHECK_FALSE(c.backend.lookup({}, "e:1").entry.has_value());
  CHECK(c.backend.lookup({}, "e:999").entry == value);
}

TEST_CASE("memory: replacing a value keeps the byte count exact") {
  Clocked c(1 << 20);
  REQUIRE(c.backend.insert(entry("e", std::string(1000, 'a'))) == cache::InsertOutcome::kStored);
  REQUIRE(c.backend.insert(entry("e", std::string(10, 'b'))) == cache::InsertOutcome::kStored);
  CHECK(c.backend.stats().bytes == 1 + 10 + MemoryBackend::kItemOverhead);
  c.backend.remove({"e"});
  CHECK(c.backend.stats().bytes == 0);
  CHECK(c.backend.stats().items == 0);
}

TEST_CASE("memory: an entry larger than the whole store is refused and writes nothing") {
  Clocked c(1024);
  auto request = entry("e", std::string(2048, 'x'));
  request.versions = {{"v", "tok", true}};
  CHECK(c.backend.insert(request) == cache::InsertOutcome::kUnavailable);
  CHECK(c.backend.stats().items == 0);
}

TEST_CASE("memory: malformed requests are refused, not stored") {
  Clocked c(1 << 20);
  auto no_version_ttl = entry("e", "x");
  no_version_ttl.versions = {{"v", "tok", true}};
  no_version_ttl.version_ttl = 0ms;
  CHECK(c.backend.insert(no_version_ttl) == cache::InsertOutcome::kUnavailable);
  cache::Invalidation mismatched{{"a", "b"}, {"t"}, 10s, "epoch"};
  CHECK(c.backend.invalidate(mismatched) == cache::StoreStatus::kUnavailable);
  CHECK(c.backend.stats().items == 0);
}
