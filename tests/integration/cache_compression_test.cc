// Compressed entries (cache.compression, issue 13): a JSON answer is stored
// gzipped in Redis (smaller there), a gzip client gets the stored bytes, an
// identity client the original body; HEAD and ranges; an upstream-gzipped
// answer is stored as it came and decoded for identity clients; min_size
// and types are honoured; a gzip bomb, from the upstream or forged in
// Redis, is refused, not expanded. Decoding in the test is libdeflate's own,
// not larder's.
#include <libdeflate.h>

#include <atomic>
#include <functional>
#include <string>

#include "cache/compression.h"
#include "cache/entry_codec.h"
#include "cache_support.h"
#include "harness/admin_fixture.h"
#include "harness/ports.h"

namespace larder::test {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kRoutes = R"(routes:
  - match: GET /api/{name}
    ttl: 1h
)";

// An API listing of exactly `size` bytes (ids and words repeat, as in JSON
// APIs; bench/micro/micro_compression.cc has a harder one).
std::string apiJson(size_t size) {
  std::string out = "{\"items\":[";
  for (int i = 0; out.size() + 120 < size; ++i)
    out += fmt::format("{{\"id\":{},\"name\":\"product {}\",\"price\":{}.{:02},\"tags\":[\"t{}\"]}},", i,
                       i * 7919 % 1000, i * 31 % 500, i % 100, i % 17);
  out += "{}]}";
  out.append(size - out.size(), ' ');
  return out;
}

std::string gzip(std::string_view body, int level = 6) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  std::string out(libdeflate_gzip_compress_bound(c, body.size()), '\0');
  out.resize(libdeflate_gzip_compress(c, body.data(), body.size(), out.data(), out.size()));
  libdeflate_free_compressor(c);
  return out;
}

std::string gunzip(std::string_view data, size_t size) {
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  std::string out(size, '\0');
  size_t produced = 0;
  libdeflate_result r = libdeflate_gzip_decompress(d, data.data(), data.size(), out.data(), out.size(), &produced);
  libdeflate_free_decompressor(d);
  REQUIRE(r == LIBDEFLATE_SUCCESS);
  out.resize(produced);
  return out;
}

struct Fixture {
  explicit Fixture(std::string cache_section = "  compression: { algorithm: gzip }\n") : admin_port(freePort()) {
    CacheOptions options;
    options.cache_section = std::move(cache_section);
    options.routes = std::string(kRoutes) + adminSection(admin_port);
    options.test_clock = true;
    cache = std::make_unique<CacheFixture>(options);
  }
  double metric(const std::string& series) { return scrape(admin_port).value(series); }
  std::string entryBytes() {
    auto keys = cache->entryKeys();
    REQUIRE(keys.size() == 1);
    RedisReply reply = cache->redis->command({"GET", keys[0]});
    REQUIRE(reply.type == RedisReply::Type::kBulk);
    return reply.str;
  }
  // Rewrites the one stored entry as `forge` changes it, keeping its TTL:
  // what an attacker with write access to Redis could store.
  void forgeEntry(const std::function<void(cache::Entry&)>& forge) {
    auto entry = cache::decodeEntry(entryBytes());
    REQUIRE(entry.has_value());
    forge(*entry);
    const std::string key = cache->entryKeys().at(0);
    REQUIRE(cache->redis->command({"SET", key, cache::encodeEntry(*entry), "KEEPTTL"}).type ==
            RedisReply::Type::kStatus);
  }
  uint16_t admin_port;
  std::unique_ptr<CacheFixture> cache;
};

const Headers kGzipClient{{"Accept-Encoding", "gzip, deflate, br"}};

}  // namespace

TEST_CASE("a JSON answer is stored gzipped; gzip clients get those bytes, identity clients the original") {
  Fixture f;
  const std::string json = apiJson(64 * 1024);
  const std::string etag = "\"v7\"";
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}, {"ETag", etag}};
    r.body = json;
  });
  HttpClient client = f.cache->client();
  HttpResponse miss = mustGet(client, "/api/list", kGzipClient);
  CHECK(xCache(miss) == "MISS");
  CHECK(miss.body == json);  // a miss streams the upstream's answer as it came
  CHECK_FALSE(miss.hasHeader("Content-Encoding"));
  REQUIRE(f.cache->waitForEntries(1));

  // In Redis: the gzipped body, much smaller than the raw one.
  const std::string stored = f.entryBytes();
  auto entry = cache::decodeEntry(stored);
  REQUIRE(entry.has_value());
  CHECK(entry->headers.find("Content-Encoding") != nullptr);
  CHECK(entry->decoded_length == json.size());
  CHECK(stored.size() * 4 < json.size());
  RedisReply usage = f.cache->redis->command({"MEMORY", "USAGE", f.cache->entryKeys().at(0)});
  REQUIRE(usage.type == RedisReply::Type::kInteger);
  // Issue 13's target: at most a quarter of the raw body in Redis.
  CHECK(usage.integer * 4 <= static_cast<int64_t>(json.size()));
  MESSAGE("stored entry: ", stored.size(), " bytes (Redis MEMORY USAGE ", usage.integer, ") for a ", json.size(),
          "-byte body");
  CHECK(f.metric("larder_cache_stored_bytes_total{form=\"uncompressed\"}") == json.size());
  CHECK(f.metric("larder_cache_stored_bytes_total{form=\"stored\"}") == entry->body.size());

  HttpResponse gz = mustGet(client, "/api/list", kGzipClient);
  CHECK(xCache(gz) == "HIT");
  CHECK(gz.header("Content-Encoding") == "gzip");
  CHECK(gz.body == entry->body);
  CHECK(gz.header("Content-Length") == std::to_string(gz.body.size()));
  CHECK(gz.header("Vary").find("Accept-Encoding") != std::string::npos);
  CHECK(gz.header("ETag") == "W/" + etag);  // RFC 9110 §8.8.3: not the identity form's strong tag
  CHECK(gunzip(gz.body, json.size()) == json);

  for (const Headers& identity : {Headers{}, Headers{{"Accept-Encoding", "identity"}},
                                  Headers{{"Accept-Encoding", "gzip;q=0, br"}}}) {
    HttpResponse plain = mustGet(client, "/api/list", identity);
    CHECK(xCache(plain) == "HIT");
    CHECK_FALSE(plain.hasHeader("Content-Encoding"));
    CHECK(plain.header("Content-Length") == std::to_string(json.size()));
    CHECK(plain.header("ETag") == etag);  // the upstream's bytes, its strong tag
    CHECK(plain.body == json);
  }
  CHECK(f.metric("larder_cache_decodes_total{result=\"ok\"}") == 3);

  HttpResponse head = mustRequest(client, "HEAD", "/api/list");
  CHECK(xCache(head) == "HIT");
  CHECK(head.body.empty());
  CHECK_FALSE(head.hasHeader("Content-Encoding"));
  CHECK(head.header("Content-Length") == std::to_string(json.size()));
  HttpResponse gz_head = mustRequest(client, "HEAD", "/api/list", kGzipClient);
  CHECK(gz_head.header("Content-Encoding") == "gzip");
  CHECK(gz_head.header("Content-Length") == std::to_string(entry->body.size()));

  // Ranges apply to the identity form, whatever the client accepts.
  Headers ranged = kGzipClient;
  ranged.emplace_back("Range", "bytes=100-199");
  HttpResponse part = mustGet(client, "/api/list", ranged);
  CHECK(part.status == 206);
  CHECK_FALSE(part.hasHeader("Content-Encoding"));
  CHECK(part.body == json.substr(100, 100));
  CHECK(part.header("Content-Range") == fmt::format("bytes 100-199/{}", json.size()));

  // One entry answers every Accept-Encoding: the key is not split by it.
  CHECK(f.cache->entryKeys().size() == 1);
  CHECK(f.cache->upstream.requestCount() == 1);
}

TEST_CASE("Redis memory per stored 64 KiB JSON entry: bench/run's body, raw and compressed") {
  // bench/run's json_body 65536: {"data":"xxx..."} plus a newline.
  const std::string body = "{\"data\":\"" + std::string(65536 - 14, 'x') + "\"}\n";
  REQUIRE(body.size() == 65534);  // bench/run pads 14 bytes for 12 (its "64 KiB" body)
  for (const char* section : {"  compression: off\n", "  compression: { algorithm: gzip }\n"}) {
    Fixture f(section);
    f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
      r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "public, max-age=3600"}};
      r.body = body;
    });
    HttpClient client = f.cache->client();
    mustGet(client, "/api/bench");
    REQUIRE(f.cache->waitForEntries(1));
    RedisReply usage = f.cache->redis->command({"MEMORY", "USAGE", f.cache->entryKeys().at(0)});
    REQUIRE(usage.type == RedisReply::Type::kInteger);
    const bool gzip = std::string(section).find("gzip") != std::string::npos;
    MESSAGE("compression ", gzip ? "gzip" : "off", ": MEMORY USAGE ", usage.integer, " bytes");
    if (gzip) CHECK(usage.integer * 4 <= 65536);
  }
}

TEST_CASE("an answer the upstream gzipped is stored as it came, and decoded for identity clients") {
  Fixture f;
  const std::string json = apiJson(20000);
  const std::string packed = gzip(json, 9);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}, {"ETag", "\"up\""}};
    r.body = packed;
  });
  HttpClient client = f.cache->client();
  HttpResponse miss = mustGet(client, "/api/up", kGzipClient);
  CHECK(miss.body == packed);
  REQUIRE(f.cache->waitForEntries(1));
  auto entry = cache::decodeEntry(f.entryBytes());
  REQUIRE(entry.has_value());
  CHECK(entry->body == packed);  // not recompressed
  CHECK_FALSE(entry->coded_here);

  HttpResponse gz = mustGet(client, "/api/up", kGzipClient);
  CHECK(xCache(gz) == "HIT");
  CHECK(gz.body == packed);
  CHECK(gz.header("Content-Encoding") == "gzip");
  CHECK(gz.header("ETag") == "\"up\"");  // the upstream's own validator

  HttpResponse plain = mustGet(client, "/api/up");
  CHECK(xCache(plain) == "HIT");
  CHECK_FALSE(plain.hasHeader("Content-Encoding"));
  CHECK(plain.body == json);
  CHECK(plain.header("Content-Length") == std::to_string(json.size()));
  CHECK(f.cache->upstream.requestCount() == 1);
}

TEST_CASE("min_size and types are honoured") {
  Fixture f("  compression: { algorithm: gzip, min_size: 2KiB, types: [application/json] }\n");
  const std::string small = apiJson(2047);
  const std::string big = apiJson(2048);
  const std::string text = apiJson(8192);
  f.cache->customize([&](const RecordedRequest& request, FakeResponse& r) {
    const bool is_text = request.target == "/api/text";
    r.headers = {{"Content-Type", is_text ? "text/plain" : "application/json; charset=utf-8"}};
    r.body = request.target == "/api/small" ? small : request.target == "/api/big" ? big : text;
  });
  HttpClient client = f.cache->client();
  for (const char* target : {"/api/small", "/api/big", "/api/text"}) mustGet(client, target, kGzipClient);
  REQUIRE(f.cache->waitForEntries(3));
  HttpResponse s = mustGet(client, "/api/small", kGzipClient);
  CHECK(xCache(s) == "HIT");
  CHECK_FALSE(s.hasHeader("Content-Encoding"));
  CHECK(s.body == small);
  HttpResponse b = mustGet(client, "/api/big", kGzipClient);
  CHECK(xCache(b) == "HIT");
  CHECK(b.header("Content-Encoding") == "gzip");
  CHECK(gunzip(b.body, big.size()) == big);
  HttpResponse t = mustGet(client, "/api/text", kGzipClient);
  CHECK(xCache(t) == "HIT");
  CHECK_FALSE(t.hasHeader("Content-Encoding"));  // text/plain is not listed here
  CHECK(t.body == text);
}

TEST_CASE("algorithm zstd: zstd clients get the stored frame, gzip-only clients the original") {
  Fixture f("  compression: { algorithm: zstd }\n");
  const std::string json = apiJson(32 * 1024);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json;
  });
  HttpClient client = f.cache->client();
  mustGet(client, "/api/z");
  REQUIRE(f.cache->waitForEntries(1));
  HttpResponse z = mustGet(client, "/api/z", {{"Accept-Encoding", "gzip, zstd"}});
  CHECK(xCache(z) == "HIT");
  CHECK(z.header("Content-Encoding") == "zstd");
  CHECK(z.body.size() * 4 < json.size());
  cache::Decoded decoded = cache::decompress(cache::Coding::kZstd, z.body, json.size());
  CHECK(decoded.body == json);
  HttpResponse gz = mustGet(client, "/api/z", kGzipClient);
  CHECK(xCache(gz) == "HIT");
  CHECK_FALSE(gz.hasHeader("Content-Encoding"));
  CHECK(gz.body == json);
}

TEST_CASE("compression off stores the identity form") {
  Fixture f("  compression: off\n");
  const std::string json = apiJson(8192);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json;
  });
  HttpClient client = f.cache->client();
  mustGet(client, "/api/x", kGzipClient);
  REQUIRE(f.cache->waitForEntries(1));
  HttpResponse hit = mustGet(client, "/api/x", kGzipClient);
  CHECK(xCache(hit) == "HIT");
  CHECK_FALSE(hit.hasHeader("Content-Encoding"));
  CHECK(hit.body == json);
}

TEST_CASE("a gzip bomb from the upstream is passed on but not stored") {
  Fixture f;  // max_object_size: 1 MiB
  const std::string bomb = gzip(std::string(64 * 1024 * 1024, '\0'), 9);
  REQUIRE(bomb.size() < 1024 * 1024);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}};
    r.body = bomb;
  });
  HttpClient client = f.cache->client();
  HttpResponse first = mustGet(client, "/api/bomb", kGzipClient);
  CHECK(first.body == bomb);
  CHECK(f.metric("larder_cache_store_rejected_total{reason=\"coding_too_big\"}") == 1);
  HttpResponse second = mustGet(client, "/api/bomb", kGzipClient);
  CHECK(xCache(second) == "MISS");
  CHECK(f.cache->entryKeys().empty());
  CHECK(f.cache->upstream.requestCount() == 2);
}

TEST_CASE("a gzip bomb forged into a stored entry is refused, not expanded: the identity client gets a refill") {
  Fixture f;
  const std::string json = apiJson(8192);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json;
  });
  HttpClient client = f.cache->client();
  mustGet(client, "/api/forged");
  REQUIRE(f.cache->waitForEntries(1));
  f.forgeEntry([](cache::Entry& entry) {
    REQUIRE(entry.decoded_length.has_value());
    // Same claimed length, but the body inflates to 64 MiB.
    entry.body = gzip(std::string(64 * 1024 * 1024, '\0'), 9);
  });

  HttpResponse plain = mustGet(client, "/api/forged");
  CHECK(plain.status == 200);
  CHECK(xCache(plain) == "MISS");
  CHECK(plain.body == json);
  CHECK(f.metric("larder_cache_decodes_total{result=\"too_big\"}") == 1);
  CHECK(f.cache->upstream.requestCount() == 2);
}

TEST_CASE("a compressed entry is revalidated with the upstream's own ETag, and stays compressed") {
  Fixture f;
  const std::string json = apiJson(16 * 1024);
  std::atomic<int> not_modified{0};
  f.cache->customize([&](const RecordedRequest& request, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}, {"Cache-Control", "max-age=1"}, {"ETag", "\"v1\""}};
    // Byte for byte, as many applications compare.
    if (request.header("If-None-Match") == "\"v1\"") {
      ++not_modified;
      r.status = 304;
      r.reason = "Not Modified";
      r.headers = {{"Cache-Control", "max-age=60"}, {"ETag", "\"v1\""}};
      r.body.clear();
      return;
    }
    r.body = json;
  });
  HttpClient client = f.cache->client();
  mustGet(client, "/api/reval");
  REQUIRE(f.cache->waitForEntries(1));
  const int64_t fills = f.cache->fillCount();
  f.cache->clock->advance(1300ms);  // past max-age=1
  HttpResponse plain = mustGet(client, "/api/reval");
  CHECK(xCache(plain) == "REVALIDATED");
  CHECK(plain.body == json);
  CHECK_FALSE(plain.hasHeader("Content-Encoding"));
  CHECK(not_modified == 1);
  REQUIRE(f.cache->waitForFillAfter(fills));
  HttpResponse gz = mustGet(client, "/api/reval", kGzipClient);
  CHECK(xCache(gz) == "HIT");
  CHECK(gz.header("Content-Encoding") == "gzip");
  CHECK(gz.header("ETag") == "W/\"v1\"");
  CHECK(gunzip(gz.body, json.size()) == json);
  auto entry = cache::decodeEntry(f.entryBytes());
  REQUIRE(entry.has_value());
  CHECK(entry->coded_here);
  CHECK(f.cache->upstream.requestCount() == 2);
}

// Past cache::kDecodeWhileSendingFrom (256 KiB) an identity client's body is
// decoded while it is sent, a chunk at a time, instead of whole first.
TEST_CASE("a large compressed entry is decoded while it is sent to an identity client") {
  Fixture f;
  const std::string json = apiJson(900 * 1024);
  f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
    r.headers = {{"Content-Type", "application/json"}, {"ETag", "\"big\""}};
    r.body = json;
  });
  HttpClient client = f.cache->client();
  CHECK(mustGet(client, "/api/large").body == json);
  REQUIRE(f.cache->waitForEntries(1));
  const double decoded_before = f.metric("larder_cache_decodes_total{result=\"ok\"}");

  HttpResponse plain = mustGet(client, "/api/large");
  CHECK(xCache(plain) == "HIT");
  CHECK(plain.header("Content-Length") == std::to_string(json.size()));
  CHECK_FALSE(plain.hasHeader("Content-Encoding"));
  CHECK(plain.header("ETag") == "\"big\"");  // the upstream's strong tag again
  CHECK((plain.body == json));
  CHECK(f.metric("larder_cache_decodes_total{result=\"ok\"}") == decoded_before + 1);

  auto head = client.request("HEAD", "/api/large");
  REQUIRE(head.has_value());
  CHECK(head->header("Content-Length") == std::to_string(json.size()));
  CHECK(head->body.empty());
  CHECK(f.metric("larder_cache_decodes_total{result=\"ok\"}") == decoded_before + 1);  // nothing decoded

  HttpResponse gz = mustGet(client, "/api/large", kGzipClient);
  CHECK(gz.header("Content-Encoding") == "gzip");
  CHECK(gunzip(gz.body, json.size()) == json);
  // The connection stays usable after a decoded answer.
  CHECK((mustGet(client, "/api/large").body == json));
  CHECK(f.cache->upstream.requestCount() == 1);
}

TEST_CASE("a large stored entry that stops decoding is cut short, never sent whole and wrong") {
  // Each forgery keeps the recorded length: a body truncated (the gzip
  // stream ends early), and a bomb (it inflates past the recorded length
  // exactly at its end, so a sender that did not hold back its last chunk
  // would have sent the full Content-Length of wrong bytes).
  for (int forgery = 0; forgery < 2; ++forgery) {
    CAPTURE(forgery);
    Fixture f;
    const std::string json = apiJson(600 * 1024);
    f.cache->customize([&](const RecordedRequest&, FakeResponse& r) {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = json;
    });
    HttpClient client = f.cache->client();
    mustGet(client, "/api/forged");
    REQUIRE(f.cache->waitForEntries(1));
    f.forgeEntry([&](cache::Entry& entry) {
      REQUIRE(entry.decoded_length == json.size());
      if (forgery == 0) {
        entry.body.own().resize(entry.body.size() / 2);
      } else {
        entry.body = gzip(json + std::string(4 * 1024 * 1024, 'x'), 9);
      }
      if (entry.headers.has("Content-Length")) entry.headers.set("Content-Length", std::to_string(entry.body.size()));
    });

    HttpClient victim = f.cache->client();
    REQUIRE(victim.send(fmt::format("GET /api/forged HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", victim.port())));
    auto cut = victim.readResponseDiscardingBody(10s);
    REQUIRE(cut.has_value());
    CHECK(cut->status == 200);
    CHECK(cut->header("X-Cache") == "HIT");
    CHECK(cut->header("Content-Length") == std::to_string(json.size()));
    CHECK_FALSE(cut->complete);
    CHECK(cut->body_bytes < json.size());
    CHECK(waitUntil([&] { return f.metric("larder_connections_closed_total{reason=\"stored_corrupt\"}") == 1; },
                    5s));
    CHECK(f.metric(forgery == 0 ? "larder_cache_decodes_total{result=\"corrupt\"}"
                                : "larder_cache_decodes_total{result=\"too_big\"}") == 1);
  }
}

}  // namespace larder::test
