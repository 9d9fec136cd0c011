// LookupSession on a real uv loop with the memory store (STYLE T4): the
// protocol's typed outcomes, and a session destroyed while the store's reply
// is pending (run under ASan in CI).
#include "cache/lookup_session.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cache/key.h"
#include "cache/versioned_insert.h"
#include "config/loader.h"
#include "http/target.h"
#include "net/loop.h"
#include "net/timer.h"
#include "store/memory/memory_store.h"

using namespace larder;
using namespace std::chrono_literals;

namespace {

bool runUntil(net::Loop& loop, const std::function<bool()>& done, std::chrono::milliseconds timeout = 5s) {
  net::Timer tick(loop);
  tick.startRepeating(5ms, [] {});
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  return true;
}

// The memory store, answering every lookup as failed (a Redis down): the
// reply still comes on a later loop turn, as a real store's does.
class FailingStore final : public cache::Store {
 public:
  explicit FailingStore(cache::Store& inner) : inner_(inner) {}
  cache::Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                        LookupCallback on_done) override {
    return inner_.lookup(std::move(version_keys), std::move(entry_key),
                         [on_done = std::move(on_done)](cache::LookupResult&&) {
                           cache::LookupResult failed;
                           failed.status = cache::StoreStatus::kUnavailable;
                           on_done(std::move(failed));
                         });
  }
  void insert(cache::InsertRequest request, InsertCallback on_done) override {
    inner_.insert(std::move(request), std::move(on_done));
  }
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override {
    return inner_.invalidate(std::move(invalidation), std::move(on_done));
  }
  cache::Pending remove(std::vector<std::string> keys, StatusCallback on_done) override {
    return inner_.remove(std::move(keys), std::move(on_done));
  }
  bool isAvailable() const override { return false; }
  std::string_view name() const override { return "failing"; }

 private:
  cache::Store& inner_;
};

// The memory store, counting the lookups sent to it.
class CountingStore final : public cache::Store {
 public:
  explicit CountingStore(cache::Store& inner) : inner_(inner) {}
  cache::Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                        LookupCallback on_done) override {
    ++lookups;
    return inner_.lookup(std::move(version_keys), std::move(entry_key), std::move(on_done));
  }
  void insert(cache::InsertRequest request, InsertCallback on_done) override {
    inner_.insert(std::move(request), std::move(on_done));
  }
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override {
    return inner_.invalidate(std::move(invalidation), std::move(on_done));
  }
  cache::Pending remove(std::vector<std::string> keys, StatusCallback on_done) override {
    return inner_.remove(std::move(keys), std::move(on_done));
  }
  bool isAvailable() const override { return true; }
  std::string_view name() const override { return "counting"; }
  int lookups = 0;

 private:
  cache::Store& inner_;
};

constexpr const char* kRoutes =
    "upstream: { servers: [127.0.0.1:1] }\n"
    "routes:\n"
    "  - match: GET /a\n"
    "    ttl: 1h\n"
    "    namespaces: [things]\n";

struct Setup {
  explicit Setup(const std::string& extra = "", const std::string& route_extra = "") {
    auto loaded = config::loadConfigString(extra + kRoutes + route_extra, "test.yaml");
    REQUIRE(loaded.ok());
    config = loaded.value();
    headers.add("Host", "shop");
  }

  cache::LookupServices services(cache::Store& with) {
    return cache::LookupServices{with, coalescer, vary_memo, surrogate_memo, tier, backlog};
  }
  cache::LookupServices services() { return services(store); }

  std::unique_ptr<cache::LookupSession> session(cache::Store* with = nullptr) {
    cache::LookupRequest request;
    request.config = config;
    request.route = &config->routes.front();
    request.method = "GET";
    request.host = "shop";
    request.target = *http::parseTarget("/a");
    request.headers = &headers;
    return std::make_unique<cache::LookupSession>(
        services(with != nullptr ? *with : store), std::move(request),
        [this](std::shared_ptr<cache::Fill>, const cache::Entry&) { ++refreshes; });
  }

  // Looks up and runs the loop until the outcome arrives.
  cache::LookupOutcome lookUp(cache::LookupSession& session) {
    std::optional<cache::LookupOutcome> outcome;
    session.lookUp([&](cache::LookupOutcome&& result) { outcome = std::move(result); });
    REQUIRE(runUntil(loop, [&] { return outcome.has_value(); }));
    return std::move(*outcome);
  }

  // Stores an answer as a fetch led by `session` would (the versions it
  // saw, and `extra_keys` as surrogate keys its answer named, unread).
  void store200(const cache::LookupSession& session, std::string body, std::chrono::milliseconds ttl = 1h,
                base::WallTime stored_at = base::WallClock::now(), std::vector<std::string> extra_keys = {}) {
    cache::Entry entry;
    entry.status = 200;
    entry.reason = "OK";
    entry.headers.add("Content-Length", std::to_string(body.size()));
    entry.body = std::move(body);
    entry.stored_at = stored_at;
    entry.ttl = ttl;
    entry.identity = session.identity();
    std::vector<std::string> keys = session.versionKeys();
    std::vector<std::optional<std::string>> seen = session.seenVersions();
    for (auto& key : extra_keys) {
      keys.push_back(std::move(key));
      seen.push_back(std::nullopt);
    }
    cache::InsertRequest insert = cache::buildVersionedInsert(session.entryKey(), entry, keys, seen, 1h);
    std::optional<cache::InsertOutcome> stored;
    store.insert(std::move(insert), [&](cache::InsertOutcome outcome) { stored = outcome; });
    REQUIRE(runUntil(loop, [&] { return stored.has_value(); }));
    REQUIRE(*stored == cache::InsertOutcome::kStored);
  }

  net::Loop loop;
  config::ConfigPtr config;
  store::MemoryStore store{loop, std::make_shared<store::MemoryBackend>(16 << 20)};
  cache::Coalescer coalescer;
  cache::VaryMemo vary_memo;
  cache::SurrogateMemo surrogate_memo;
  cache::MemoryTier tier;
  cache::InvalidationBacklog backlog;
  http::HeaderMap headers;
  int refreshes = 0;
};

}  // namespace

TEST_CASE("a miss leads the key's fill, and once stored the next lookup hits") {
  Setup setup;
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  REQUIRE(miss.kind == cache::LookupOutcome::Kind::kFetch);
  CHECK(miss.fill != nullptr);
  CHECK_FALSE(miss.store_unavailable);
  CHECK((miss.forward == cache::CacheStatus::Forward::kUriMiss));
  setup.store200(*first, "hello");
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  auto second = setup.session();
  cache::LookupOutcome hit = setup.lookUp(*second);
  REQUIRE(hit.kind == cache::LookupOutcome::Kind::kHit);
  REQUIRE(hit.entry.has_value());
  CHECK(hit.entry->body == "hello");
  CHECK_FALSE(hit.stale);
  CHECK_FALSE(hit.from_tier);
}

TEST_CASE("a concurrent second miss on the key joins the first one's fill") {
  Setup setup;
  auto leader = setup.session();
  auto follower = setup.session();
  std::optional<cache::LookupOutcome> first;
  std::optional<cache::LookupOutcome> second;
  leader->lookUp([&](cache::LookupOutcome&& outcome) { first = std::move(outcome); });
  follower->lookUp([&](cache::LookupOutcome&& outcome) { second = std::move(outcome); });
  REQUIRE(runUntil(setup.loop, [&] { return first && second; }));
  CHECK(first->kind == cache::LookupOutcome::Kind::kFetch);
  CHECK(second->kind == cache::LookupOutcome::Kind::kJoin);
  CHECK(first->fill == second->fill);
}

TEST_CASE("a write's new version turns the stored entry into a miss on a new fill") {
  Setup setup;
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  REQUIRE(miss.kind == cache::LookupOutcome::Kind::kFetch);
  setup.store200(*first, "old");
  // The write: a fresh token under the route's namespace (DESIGN invariant 3).
  cache::Invalidation write;
  write.version_keys = {cache::namespaceKey(setup.config->cache.key_prefix, "things")};
  write.tokens = {cache::newVersionToken()};
  write.version_ttl = 1h;
  write.epoch_key = cache::epochKey(setup.config->cache.key_prefix);
  std::optional<cache::StoreStatus> written;
  cache::Pending pending =
      setup.store.invalidate(write, [&](cache::StoreStatus status) { written = status; });
  REQUIRE(runUntil(setup.loop, [&] { return written.has_value(); }));

  auto after = setup.session();
  cache::LookupOutcome outcome = setup.lookUp(*after);
  CHECK(outcome.kind == cache::LookupOutcome::Kind::kFetch);
  CHECK_FALSE(outcome.entry.has_value());
  // The first fill is still in flight: a request that saw the write's token
  // must not join it.
  CHECK(outcome.fill != miss.fill);
  CHECK(after->fillKey() != first->fillKey());
}

TEST_CASE("a store that fails: reject bypasses with the reason enum, bypass mode coalesces apart") {
  SUBCASE("store.on_failure: reject") {
    Setup setup("store: { on_failure: reject }\n");
    FailingStore failing(setup.store);
    auto session = setup.session(&failing);
    cache::LookupOutcome outcome = setup.lookUp(*session);
    REQUIRE(outcome.kind == cache::LookupOutcome::Kind::kBypass);
    CHECK((outcome.reason == cache::BypassReason::kStoreUnavailable));
    CHECK(std::string(outcome.detail) == "store_unavailable");
  }
  SUBCASE("store.on_failure: bypass") {
    Setup setup;
    FailingStore failing(setup.store);
    auto session = setup.session(&failing);
    cache::LookupOutcome outcome = setup.lookUp(*session);
    REQUIRE(outcome.kind == cache::LookupOutcome::Kind::kFetch);
    CHECK(outcome.store_unavailable);
    CHECK((outcome.forward == cache::CacheStatus::Forward::kBypass));
    CHECK(session->fillKey().starts_with("unavailable\n"));
  }
}

TEST_CASE("requests the cache must not answer bypass with a typed reason") {
  Setup setup;
  SUBCASE("a body") {
    cache::LookupRequest request;
    request.config = setup.config;
    request.route = &setup.config->routes.front();
    request.method = "GET";
    request.host = "shop";
    request.target = *http::parseTarget("/a");
    request.headers = &setup.headers;
    request.has_body = true;
    cache::LookupSession session(setup.services(), std::move(request), nullptr);
    CHECK((setup.lookUp(session).reason == cache::BypassReason::kRequestBody));
  }
  SUBCASE("Authorization on a shared route") {
    setup.headers.add("Authorization", "Bearer x");
    auto session = setup.session();
    cache::LookupOutcome outcome = setup.lookUp(*session);
    REQUIRE(outcome.kind == cache::LookupOutcome::Kind::kBypass);
    CHECK((outcome.reason == cache::BypassReason::kRequestPolicy));
    CHECK(std::string(outcome.detail) == "authorization");
  }
  SUBCASE("an invalidation of its namespace not landed yet") {
    cache::Invalidation failed;
    failed.version_keys = {cache::namespaceKey(setup.config->cache.key_prefix, "things")};
    failed.tokens = {cache::newVersionToken()};
    failed.version_ttl = 1h;
    setup.backlog.add(failed);
    auto session = setup.session();
    CHECK((setup.lookUp(*session).reason == cache::BypassReason::kInvalidationPending));
  }
}

TEST_CASE("a Vary learned from an answer re-keys the session to its variant") {
  Setup setup;
  setup.headers.add("Accept-Language", "fr");
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  REQUIRE(miss.kind == cache::LookupOutcome::Kind::kFetch);
  const std::string primary = first->entryKey();
  http::HeaderMap answer;
  answer.add("Vary", "Accept-Language");
  bool moved = false;
  REQUIRE(first->rekeyForVary(answer, [&] { moved = true; }));
  CHECK(moved);
  CHECK(first->entryKey() != primary);
  CHECK(first->varyNames() == std::vector<std::string>{"accept-language"});
  CHECK(setup.vary_memo.find(primary) == first->varyNames());
  CHECK_FALSE(first->rekeyForVary(answer, [] {}));  // nothing new

  // A later lookup goes straight to its variant.
  auto second = setup.session();
  setup.lookUp(*second);
  CHECK(second->entryKey() == first->entryKey());
}

TEST_CASE("a session destroyed while the store's reply is pending drops the reply") {
  Setup setup;
  bool called = false;
  auto session = setup.session();
  session->lookUp([&](cache::LookupOutcome&&) { called = true; });
  CHECK(session->isInFlight());
  session.reset();
  // Drain the loop: the memory store's deferred reply runs, and is dropped.
  net::Timer done(setup.loop);
  bool fired = false;
  done.start(20ms, [&] { fired = true; });
  REQUIRE(runUntil(setup.loop, [&] { return fired; }));
  CHECK_FALSE(called);
  CHECK(setup.coalescer.size() == 0);  // nothing led, nothing left behind
}

TEST_CASE("the outcome's callback may destroy the session") {
  Setup setup;
  auto session = setup.session();
  bool called = false;
  session->lookUp([&](cache::LookupOutcome&& outcome) {
    called = true;
    CHECK(outcome.kind == cache::LookupOutcome::Kind::kFetch);
    session.reset();
  });
  REQUIRE(runUntil(setup.loop, [&] { return called; }));
  CHECK(session == nullptr);
}

TEST_CASE("an expired entry within stale-while-revalidate hits stale and leads one background refresh") {
  Setup setup("cache: { stale_while_revalidate: 30s }\n");
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  REQUIRE(miss.kind == cache::LookupOutcome::Kind::kFetch);
  setup.store200(*first, "old", 1s, base::WallClock::now() - 10s);
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  auto second = setup.session();
  cache::LookupOutcome stale = setup.lookUp(*second);
  REQUIRE(stale.kind == cache::LookupOutcome::Kind::kHit);
  CHECK(stale.stale);
  CHECK(stale.entry->body == "old");
  CHECK(setup.refreshes == 1);
  // The refresh is in flight: a second stale hit does not start another.
  auto third = setup.session();
  CHECK(setup.lookUp(*third).stale);
  CHECK(setup.refreshes == 1);
}

TEST_CASE("an expired entry past its stale windows is a fetch that keeps it for revalidation") {
  Setup setup;
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  setup.store200(*first, "old", 1s, base::WallClock::now() - 10s);
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  auto second = setup.session();
  cache::LookupOutcome outcome = setup.lookUp(*second);
  REQUIRE(outcome.kind == cache::LookupOutcome::Kind::kFetch);
  REQUIRE(outcome.stale_entry.has_value());
  CHECK(outcome.stale_entry->body == "old");
  CHECK((outcome.forward == cache::CacheStatus::Forward::kStale));
  CHECK(setup.refreshes == 0);
}

TEST_CASE("an entry naming a surrogate key the lookup did not read is checked by a second read, then memoized") {
  Setup setup;
  const std::string surrogate = cache::surrogateVersionKey(setup.config->cache.key_prefix, "x");
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  setup.store200(*first, "tagged", 1h, base::WallClock::now(), {surrogate});
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  auto second = setup.session();
  cache::LookupOutcome hit = setup.lookUp(*second);
  REQUIRE(hit.kind == cache::LookupOutcome::Kind::kHit);
  CHECK(hit.entry->body == "tagged");
  CHECK(std::find(second->versionKeys().begin(), second->versionKeys().end(), surrogate) !=
        second->versionKeys().end());
  // Now one round trip reads it with the rest.
  CHECK(setup.surrogate_memo.find(second->entryKey()) == std::vector<std::string>{surrogate});

  // A write to the surrogate namespace: the second read refuses the entry.
  cache::Invalidation write;
  write.version_keys = {surrogate};
  write.tokens = {cache::newVersionToken()};
  write.version_ttl = 1h;
  write.epoch_key = cache::epochKey(setup.config->cache.key_prefix);
  std::optional<cache::StoreStatus> written;
  cache::Pending pending = setup.store.invalidate(write, [&](cache::StoreStatus status) { written = status; });
  REQUIRE(runUntil(setup.loop, [&] { return written.has_value(); }));
  auto third = setup.session();
  CHECK(setup.lookUp(*third).kind == cache::LookupOutcome::Kind::kFetch);
}

TEST_CASE("a route with memory_ttl: the second hit comes from the in-process tier, inside lookUp") {
  Setup setup("", "    memory_ttl: 10s\n");
  setup.tier.setMaxBytes(1 << 20);
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  setup.store200(*first, "hot");
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  auto second = setup.session();
  cache::LookupOutcome hit = setup.lookUp(*second);
  REQUIRE(hit.kind == cache::LookupOutcome::Kind::kHit);
  CHECK_FALSE(hit.from_tier);  // the store's hit puts it in the tier

  auto third = setup.session();
  std::optional<cache::LookupOutcome> tier;
  third->lookUp([&](cache::LookupOutcome&& outcome) { tier = std::move(outcome); });
  REQUIRE(tier.has_value());  // zero round trips: no loop turn needed
  CHECK(tier->from_tier);
  CHECK(tier->entry->body == "hot");
}

TEST_CASE("a shadow route's lookup hands over what it found, then joins or leads on miss()") {
  Setup setup("", "    mode: shadow\n");
  auto first = setup.session();
  cache::LookupOutcome found = setup.lookUp(*first);
  REQUIRE(found.kind == cache::LookupOutcome::Kind::kFound);
  CHECK_FALSE(found.entry.has_value());
  std::optional<cache::LookupOutcome> lead;
  first->miss([&](cache::LookupOutcome&& outcome) { lead = std::move(outcome); });
  REQUIRE(lead.has_value());
  CHECK(lead->kind == cache::LookupOutcome::Kind::kFetch);
}

TEST_CASE("a session destroyed while its second read (surrogate keys) is pending drops that reply too") {
  Setup setup;
  const std::string surrogate = cache::surrogateVersionKey(setup.config->cache.key_prefix, "x");
  auto first = setup.session();
  cache::LookupOutcome miss = setup.lookUp(*first);
  setup.store200(*first, "tagged", 1h, base::WallClock::now(), {surrogate});
  miss.fill->abandon();
  setup.coalescer.forget(first->fillKey(), miss.fill);

  CountingStore counting(setup.store);
  auto session = setup.session(&counting);
  bool called = false;
  session->lookUp([&](cache::LookupOutcome&&) { called = true; });
  REQUIRE(runUntil(setup.loop, [&] { return counting.lookups == 2; }));
  CHECK(session->isInFlight());
  session.reset();
  net::Timer done(setup.loop);
  bool fired = false;
  done.start(20ms, [&] { fired = true; });
  REQUIRE(runUntil(setup.loop, [&] { return fired; }));
  CHECK_FALSE(called);
  CHECK(setup.surrogate_memo.find(first->entryKey()).empty());  // the second read never completed
}
