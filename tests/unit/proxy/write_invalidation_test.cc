// WriteInvalidation on a real loop with the memory store (STYLE T4): the
// namespaces a write's answer invalidates, the answer held meanwhile and
// handed back once the invalidation lands (never inside start()), and
// stop() leaving nothing to call back. With a store that holds its
// invalidations until the test settles them: a first attempt that fails
// after stop(), or after the WriteInvalidation is gone, still lands in the
// backlog (DESIGN invariant 13).
#include "proxy/write_invalidation.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "cache/key.h"
#include "net/pending.h"
#include "config/loader.h"
#include "common/held_store.h"
#include "net/loop.h"
#include "net/timer.h"
#include "proxy/fill_fetch.h"
#include "store/memory/memory_store.h"
#include "upstream/pool.h"

using namespace larder;
using namespace std::chrono_literals;

namespace {

using test::HeldStore;

constexpr std::string_view kConfig =
    "upstream: { servers: [127.0.0.1:1] }\nroutes:\n  - match: GET /things/{id}\n    ttl: 1h\n";

struct WriteSetup {
  // `held`: the ProxyContext's store is the HeldStore, not the memory store.
  explicit WriteSetup(std::string_view yaml = kConfig, bool held = false) {
    auto loaded = config::loadConfigString(std::string(yaml), "test.yaml");
    REQUIRE(loaded.ok());
    config = loaded.value();
    cache::Store& used = held ? static_cast<cache::Store&>(held_store) : store;
    pool = std::make_unique<upstream::Pool>(loop, config->upstream);
    fetches = std::make_unique<proxy::FillFetches>(
        proxy::FillFetchContext{loop, queue, *pool, used, coalescer, vary_memo, surrogate_memo, nullptr});
    context = std::make_unique<proxy::ProxyContext>(proxy::ProxyContext{
        loop, *pool, config, used, backlog, coalescer, vary_memo, tier, surrogate_memo, queue, *fetches, nullptr});
  }

  // The version key of the URI namespace of shop/things (what every write
  // below invalidates).
  std::string thingsKey() const {
    return cache::namespaceKey(config->cache.key_prefix, cache::uriNamespace("shop", "/things"));
  }
  ~WriteSetup() { queue.close(); }

  // The version a namespace key holds now (nullopt: none).
  std::optional<std::string> version(const std::string& key) {
    std::optional<std::optional<std::string>> found;
    cache::Pending pending = store.lookup({key}, "none", [&](cache::LookupResult&& result) {
      found = result.versions.empty() ? std::nullopt : result.versions[0];
    });
    net::Timer tick(loop);
    tick.startRepeating(2ms, [] {});
    while (!found) uv_run(loop.raw(), UV_RUN_ONCE);
    return *found;
  }

  net::Loop loop;
  net::CrossThreadQueue queue{loop};
  config::ConfigPtr config;
  store::MemoryStore store{loop, std::make_shared<store::MemoryBackend>(1 << 20)};
  HeldStore held_store;
  cache::InvalidationBacklog backlog;
  cache::Coalescer coalescer;
  cache::VaryMemo vary_memo;
  cache::MemoryTier tier;
  cache::SurrogateMemo surrogate_memo;
  std::unique_ptr<upstream::Pool> pool;
  std::unique_ptr<proxy::FillFetches> fetches;
  std::unique_ptr<proxy::ProxyContext> context;
};

}  // namespace

TEST_CASE("a write's answer is held while it invalidates, and handed back whole once it landed") {
  WriteSetup setup;
  std::optional<proxy::WriteInvalidation::Answer> landed;
  proxy::WriteInvalidation write(*setup.context, *setup.config,
                                 [&](proxy::WriteInvalidation::Answer&& answer) { landed = std::move(answer); });
  http::ResponseHead head;
  head.status = 201;
  head.headers.add("Location", "/things/7");
  const std::vector<std::string> answer_keys = {"v1:ns:tag:red"};
  config::Params params;
  write.start({nullptr, &params, "shop", "/things"}, std::move(head), &answer_keys, std::nullopt);
  write.holdBody("created");
  write.holdComplete();
  CHECK_FALSE(landed.has_value());  // never inside start()
  net::Timer tick(setup.loop);
  tick.startRepeating(2ms, [] {});
  while (!landed) uv_run(setup.loop.raw(), UV_RUN_ONCE);
  REQUIRE(landed->head.has_value());
  CHECK(landed->head->status == 201);
  CHECK(landed->body == "created");
  CHECK(landed->complete);
  CHECK_FALSE(landed->error.has_value());
  CHECK_FALSE(landed->pending);
  const std::string prefix = setup.config->cache.key_prefix;
  // The URI's namespace, Location's on the same host, and the named key.
  CHECK(setup.version(cache::namespaceKey(prefix, cache::uriNamespace("shop", "/things"))).has_value());
  CHECK(setup.version(cache::namespaceKey(prefix, cache::uriNamespace("shop", "/things/7"))).has_value());
  CHECK(setup.version("v1:ns:tag:red").has_value());
  CHECK_FALSE(setup.version(cache::namespaceKey(prefix, cache::uriNamespace("shop", "/others"))).has_value());
}

TEST_CASE("a write with no answer invalidates, then hands back its error; stop() drops what is in flight") {
  WriteSetup setup;
  int landed = 0;
  std::optional<upstream::UpstreamError> error;
  auto write = std::make_unique<proxy::WriteInvalidation>(*setup.context, *setup.config,
                                                          [&](proxy::WriteInvalidation::Answer&& answer) {
                                                            ++landed;
                                                            error = answer.error;
                                                          });
  config::Params params;
  write->start({nullptr, &params, "shop", "/things"}, std::nullopt, nullptr, upstream::UpstreamError::kResponseTimeout);
  net::Timer tick(setup.loop);
  tick.startRepeating(2ms, [] {});
  while (landed == 0) uv_run(setup.loop.raw(), UV_RUN_ONCE);
  CHECK((error == upstream::UpstreamError::kResponseTimeout));

  proxy::WriteInvalidation stopped(*setup.context, *setup.config, [&](proxy::WriteInvalidation::Answer&&) { ++landed; });
  stopped.start({nullptr, &params, "shop", "/things"}, std::nullopt, nullptr, upstream::UpstreamError::kResponseTimeout);
  stopped.stop();
  for (int i = 0; i < 20; ++i) uv_run(setup.loop.raw(), UV_RUN_ONCE);
  CHECK(landed == 1);
}

// DESIGN invariant 13: the client resets while the invalidation is in
// flight (the Exchange stops it), then the store fails it. Before the fix,
// stop() dropped the store's callback and the invalidation was lost.
TEST_CASE("a first invalidation that fails after stop() lands in the backlog; the stopped write hears nothing") {
  WriteSetup setup(kConfig, true);
  int landed = 0;
  proxy::WriteInvalidation write(*setup.context, *setup.config, [&](proxy::WriteInvalidation::Answer&&) { ++landed; });
  config::Params params;
  write.start({nullptr, &params, "shop", "/things"}, std::nullopt, nullptr, upstream::UpstreamError::kReset);
  write.stop();
  REQUIRE(setup.held_store.heldCount() == 1);
  CHECK(setup.held_store.settle(cache::StoreStatus::kUnavailable));
  CHECK(setup.backlog.isPending({setup.thingsKey()}));
  for (int i = 0; i < 5; ++i) uv_run(setup.loop.raw(), UV_RUN_NOWAIT);
  CHECK(landed == 0);
  CHECK(setup.held_store.heldCount() == 0);  // no retry of its own: the backlog's
}

// The same once the exchange, and its WriteInvalidation, are destroyed (a
// connection closed: ClientConnection::onStreamClosed).
TEST_CASE("a first invalidation that fails after its WriteInvalidation is destroyed lands in the backlog") {
  WriteSetup setup(kConfig, true);
  int landed = 0;
  auto write = std::make_unique<proxy::WriteInvalidation>(*setup.context, *setup.config,
                                                          [&](proxy::WriteInvalidation::Answer&&) { ++landed; });
  config::Params params;
  http::ResponseHead head;
  head.status = 204;
  write->start({nullptr, &params, "shop", "/things"}, std::move(head), nullptr, std::nullopt);
  write.reset();
  CHECK(setup.held_store.settle(cache::StoreStatus::kUnavailable));
  CHECK(setup.backlog.isPending({setup.thingsKey()}));
  CHECK(landed == 0);
}

TEST_CASE("a first invalidation that lands after stop() leaves the backlog empty") {
  WriteSetup setup(kConfig, true);
  int landed = 0;
  proxy::WriteInvalidation write(*setup.context, *setup.config, [&](proxy::WriteInvalidation::Answer&&) { ++landed; });
  config::Params params;
  write.start({nullptr, &params, "shop", "/things"}, std::nullopt, nullptr, upstream::UpstreamError::kReset);
  write.stop();
  CHECK(setup.held_store.settle(cache::StoreStatus::kOk));
  CHECK(setup.backlog.empty());
  CHECK(landed == 0);
}

// Within store.redis.write_consistency the write retries its failed
// invalidation itself; stopped meanwhile, the retry is cancelled but the
// backlog, which got it at the first failure, keeps it until it lands.
TEST_CASE("a write stopped during its write_consistency retries leaves its invalidation in the backlog") {
  WriteSetup setup(std::string(kConfig) +
                  "store:\n  redis: { url: \"redis://127.0.0.1:1/0\", write_consistency: { "
                  "wait_for_invalidation: 10s } }\n",
              true);
  int landed = 0;
  proxy::WriteInvalidation write(*setup.context, *setup.config, [&](proxy::WriteInvalidation::Answer&&) { ++landed; });
  config::Params params;
  write.start({nullptr, &params, "shop", "/things"}, std::nullopt, nullptr, upstream::UpstreamError::kReset);
  CHECK(setup.held_store.settle(cache::StoreStatus::kUnavailable));
  CHECK(setup.backlog.isPending({setup.thingsKey()}));
  // The answer waits: a retry follows (after at most 50 ms).
  while (setup.held_store.heldCount() == 0) uv_run(setup.loop.raw(), UV_RUN_ONCE);
  CHECK(landed == 0);
  write.stop();
  CHECK_FALSE(setup.held_store.settle(cache::StoreStatus::kOk));  // its callback was dropped
  CHECK(setup.backlog.isPending({setup.thingsKey()}));
  CHECK(landed == 0);
}

// The client left while its write was upstream, before any answer
// (Exchange's destructor): the write is invalidated with nobody waiting.
TEST_CASE("an abandoned write invalidates its namespaces; its failure lands in the backlog") {
  WriteSetup setup;
  config::Params params;
  proxy::WriteInvalidation::abandon(*setup.context, *setup.config, {nullptr, &params, "shop", "/things"});
  CHECK(setup.version(setup.thingsKey()).has_value());
  CHECK(setup.backlog.empty());

  WriteSetup held(kConfig, true);
  proxy::WriteInvalidation::abandon(*held.context, *held.config, {nullptr, &params, "shop", "/things"});
  REQUIRE(held.held_store.heldCount() == 1);
  CHECK(held.held_store.settle(cache::StoreStatus::kUnavailable));
  CHECK(held.backlog.isPending({held.thingsKey()}));
}
