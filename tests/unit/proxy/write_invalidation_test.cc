// WriteInvalidation on a real loop with the memory store (STYLE T4): the
// namespaces a write's answer invalidates, the answer held meanwhile and
// handed back once the invalidation lands (never inside start()), and
// stop() leaving nothing to call back.
#include "proxy/write_invalidation.h"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

#include "cache/key.h"
#include "config/loader.h"
#include "net/loop.h"
#include "net/timer.h"
#include "proxy/fill_fetch.h"
#include "store/memory/memory_store.h"
#include "upstream/pool.h"

using namespace larder;
using namespace std::chrono_literals;

namespace {

struct Setup {
  Setup() {
    auto loaded = config::loadConfigString(
        "upstream: { servers: [127.0.0.1:1] }\nroutes:\n  - match: GET /things/{id}\n    ttl: 1h\n", "test.yaml");
    REQUIRE(loaded.ok());
    config = loaded.value();
    pool = std::make_unique<upstream::Pool>(loop, config->upstream);
    fetches = std::make_unique<proxy::FillFetches>(
        proxy::FillFetchContext{loop, queue, *pool, store, coalescer, vary_memo, surrogate_memo, nullptr});
    context = std::make_unique<proxy::ProxyContext>(proxy::ProxyContext{
        loop, *pool, config, store, backlog, coalescer, vary_memo, tier, surrogate_memo, queue, *fetches, nullptr});
  }
  ~Setup() { queue.close(); }

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
  Setup setup;
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
  Setup setup;
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
