// Key derivation and the entry codec.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstdio>
#include <string>

#include "alloc_counter.h"
#include "cache/entry_codec.h"
#include "cache/key.h"
#include "config/loader.h"
#include "http/header_map.h"
#include "http/target.h"

namespace {

using namespace larder;

config::ConfigPtr benchConfig() {
  static const config::ConfigPtr config = [] {
    auto loaded = config::loadConfigString(R"(
upstream:
  servers: [127.0.0.1:8000]
routes:
  - match: GET /api/products/{id}
    ttl: 1h
    namespaces: [products, "product:{id}"]
    vary: [Accept-Language]
    query: { ignore: ["utm_*", fbclid] }
)", "micro.yaml");
    if (!loaded) {
      for (const auto& e : loaded.error()) std::fprintf(stderr, "%s\n", e.toString().c_str());
      std::abort();
    }
    return loaded.value();
  }();
  return config;
}

http::HeaderMap requestHeaders() {
  http::HeaderMap h;
  h.add("Host", "shop.example.com");
  h.add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0");
  h.add("Accept", "application/json, text/plain, */*");
  h.add("Accept-Language", "en-GB,en;q=0.5");
  h.add("Accept-Encoding", "gzip, deflate, br");
  return h;
}

// parseTarget + buildIdentity + entryKey: the key of a read.
void BM_KeyDerivation(benchmark::State& state) {
  const config::ConfigPtr config = benchConfig();
  const config::Route& route = config->routes.at(0);
  const http::HeaderMap headers = requestHeaders();
  for (auto _ : state) {
    auto target = http::parseTarget("/api/products/12345?sort=price&page=2&utm_source=newsletter");
    cache::RequestIdentity id =
        cache::buildIdentity("GET", "shop.example.com", *target, route, headers, "");
    std::string key = cache::entryKey("v1", id);
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_KeyDerivation);

// buildIdentity + entryKey alone, on an already parsed target.
void BM_BuildIdentityEntryKey(benchmark::State& state) {
  const config::ConfigPtr config = benchConfig();
  const config::Route& route = config->routes.at(0);
  const http::HeaderMap headers = requestHeaders();
  const http::Target target = *http::parseTarget("/api/products/12345?sort=price&page=2&utm_source=newsletter");
  for (auto _ : state) {
    cache::RequestIdentity id = cache::buildIdentity("GET", "shop.example.com", target, route, headers, "");
    std::string key = cache::entryKey("v1", id);
    benchmark::DoNotOptimize(key.data());
  }
}
BENCHMARK(BM_BuildIdentityEntryKey);

cache::Entry sampleEntry(size_t body_size) {
  cache::Entry e;
  e.status = 200;
  e.reason = "OK";
  e.headers.add("Content-Type", "application/json");
  e.headers.add("Cache-Control", "public, max-age=300");
  e.headers.add("ETag", "\"6553f1a2-400\"");
  e.headers.add("Last-Modified", "Tue, 14 Nov 2023 21:30:10 GMT");
  e.headers.add("Server", "nginx");
  e.headers.add("Date", "Wed, 22 Nov 2023 15:00:00 GMT");
  e.body.assign(body_size, 'x');
  e.stored_at = base::WallTime(std::chrono::milliseconds(1700000000000));
  e.ttl = std::chrono::minutes(5);
  e.initial_age_seconds = 0;
  cache::RequestIdentity id;
  id.method_class = "GET";
  id.host = "shop.example.com";
  id.path = "/api/products/12345";
  id.query = "page=2&sort=price";
  id.vary = {{"accept-language", "en-GB,en;q=0.5"}};
  e.identity = id.serialize();
  e.versions = {{"v1:ns:products", cache::newVersionToken()},
                {"v1:ns:product:12345", cache::newVersionToken()},
                {"v1:ns:uri:shop.example.com/api/products/12345", cache::newVersionToken()},
                {"v1:ns:*", cache::newVersionToken()}};
  return e;
}

// layout 0: compact (format 5, the default); 1: format 3, which larder
// wrote before the compact head.
cache::EntryLayout layoutArg(int64_t arg) { return arg == 0 ? cache::EntryLayout::kCompact : cache::EntryLayout::kBodyFirst; }

void BM_EncodeEntry(benchmark::State& state) {
  const cache::Entry entry = sampleEntry(static_cast<size_t>(state.range(0)));
  const cache::EntryLayout layout = layoutArg(state.range(1));
  size_t size = 0;
  for (auto _ : state) {
    std::string bytes = cache::encodeEntry(entry, layout);
    size = bytes.size();
    benchmark::DoNotOptimize(bytes.data());
  }
  state.counters["head_bytes"] = static_cast<double>(size - entry.body.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
}
BENCHMARK(BM_EncodeEntry)->ArgNames({"body", "layout"})->ArgsProduct({{1024, 64 * 1024}, {0, 1}});

void BM_DecodeEntry(benchmark::State& state) {
  const std::string bytes =
      cache::encodeEntry(sampleEntry(static_cast<size_t>(state.range(0))), layoutArg(state.range(1)));
  const uint64_t allocations = bench::allocationCount();
  for (auto _ : state) {
    auto entry = cache::decodeEntry(bytes);
    if (!entry) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(entry->body.data());
  }
  bench::reportAllocations(state, allocations);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeEntry)->ArgNames({"body", "layout"})->ArgsProduct({{1024, 64 * 1024}, {0, 1}});

// A hit's way from the Redis reply to the Entry: the reply's bytes copied
// into a string (parseLookup, the one copy the reply buffer's lifetime
// requires), then decoded. owned 0: decodeEntry(view), as the proxy did;
// 1: decodeEntry(std::move(bytes)) (issue 13). head_first 1: an entry
// stored by larder before format 3.
void BM_ReplyToEntry(benchmark::State& state) {
  const bool owned = state.range(1) != 0;
  const bool head_first = state.range(2) != 0;
  const std::string reply = cache::encodeEntry(sampleEntry(static_cast<size_t>(state.range(0))),
                                               head_first ? cache::EntryLayout::kHeadFirst
                                                          : cache::EntryLayout::kCompact);
  const uint64_t allocations = bench::allocationCount();
  for (auto _ : state) {
    std::string copied(reply);
    auto entry = owned ? cache::decodeEntry(std::move(copied)) : cache::decodeEntry(copied);
    if (!entry) {
      state.SkipWithError("decode failed");
      break;
    }
    benchmark::DoNotOptimize(entry->body.data());
  }
  bench::reportAllocations(state, allocations);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_ReplyToEntry)
    ->ArgNames({"body", "owned", "head_first"})
    ->Args({1024, 0, 1})
    ->Args({1024, 1, 0})
    ->Args({1024, 1, 1})
    ->Args({64 * 1024, 0, 1})
    ->Args({64 * 1024, 0, 0})
    ->Args({64 * 1024, 1, 0})
    ->Args({64 * 1024, 1, 1});

}  // namespace
