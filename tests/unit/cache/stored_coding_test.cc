#include "cache/stored_coding.h"

#include <doctest/doctest.h>

#include <string>

#include "cache/entry_codec.h"
#include "cache/lookup_session.h"
#include "json_body.h"

using namespace larder;
using namespace larder::cache;
using larder::test::jsonBody;

namespace {

Entry jsonEntry(size_t size) {
  Entry entry;
  entry.status = 200;
  entry.reason = "OK";
  entry.headers.add("Content-Type", "application/json");
  entry.body = jsonBody(size);
  entry.headers.add("Content-Length", std::to_string(entry.body.size()));
  entry.headers.add("ETag", "\"v1\"");
  return entry;
}

http::HeaderMap accepting(std::string_view value) {
  http::HeaderMap h;
  h.add("Accept-Encoding", std::string(value));
  return h;
}

// cache.compression is off by default; these cases are about gzip.
config::CacheConfig gzipCache() {
  config::CacheConfig cache;
  cache.compression.algorithm = config::CompressionConfig::Algorithm::kGzip;
  return cache;
}

}  // namespace

TEST_CASE("a JSON answer is stored gzipped, with Vary, a weak ETag and its decoded length") {
  config::CacheConfig cache = gzipCache();
  Entry entry = jsonEntry(8192);
  const std::string original(entry.body.view());
  StoreCodingResult result = codeForStore(entry, cache);
  CHECK(result.store);
  CHECK(result.compressed);
  CHECK(entry.coded_here);
  REQUIRE(entry.decoded_length.has_value());
  CHECK(*entry.decoded_length == original.size());
  CHECK(entry.body.size() * 3 < original.size());
  CHECK(*entry.headers.find("Content-Encoding") == "gzip");
  CHECK(*entry.headers.find("Content-Length") == std::to_string(entry.body.size()));
  CHECK(entry.headers.hasToken("Vary", "Accept-Encoding"));
  CHECK(*entry.headers.find("ETag") == "W/\"v1\"");
  CHECK(storedCoding(entry) == Coding::kGzip);

  // Through the entry codec (format version 2) and back.
  auto decoded = decodeEntry(encodeEntry(entry));
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);

  CHECK(servedForm(entry, accepting("gzip, deflate, br")) == ServedForm::kAsStored);
  CHECK(servedForm(entry, http::HeaderMap()) != ServedForm::kAsStored);
  CHECK(servedForm(entry, accepting("gzip;q=0, br")) != ServedForm::kAsStored);
  http::HeaderMap ranged = accepting("gzip");
  ranged.add("Range", "bytes=0-9");
  CHECK(servedForm(entry, ranged) != ServedForm::kAsStored);  // ranges apply to the identity form

  Entry identity = entry;
  CHECK((toIdentityForm(identity, 1 << 20) == DecodeError::kNone));
  CHECK(identity.body == original);
  CHECK_FALSE(identity.headers.has("Content-Encoding"));
  CHECK(*identity.headers.find("Content-Length") == std::to_string(original.size()));
  CHECK(identity.headers.hasToken("Vary", "Accept-Encoding"));
  CHECK(*identity.headers.find("ETag") == "\"v1\"");  // the upstream's bytes, its strong tag
  CHECK_FALSE(identity.decoded_length.has_value());
  CHECK_FALSE(identity.etag_weakened);
  CHECK((toIdentityForm(identity, 1 << 20) == DecodeError::kNone));  // idempotent
  CHECK(identity.body == original);

  // Revalidation asks the upstream with its own tag.
  http::HeaderMap conditional;
  conditional.add("If-None-Match", "\"client's\"");
  setUpstreamValidators(entry, conditional);
  CHECK(conditional.findAll("If-None-Match") == std::vector<std::string_view>{"\"v1\""});
  // The Vary it added goes before a renewed entry is judged again.
  http::HeaderMap renewed = entry.headers;
  renewed.add("Vary", "Accept-Language");
  removeAddedVary(entry, renewed);
  CHECK_FALSE(renewed.hasToken("Vary", "accept-encoding"));
  CHECK(renewed.hasToken("Vary", "accept-language"));

  // Stored again (a revalidation renewed it, and a 304 brought the strong
  // ETag back): left coded, ETag weak again, Vary not doubled.
  entry.headers.set("ETag", "\"v1\"");
  StoreCodingResult again = codeForStore(entry, cache);
  CHECK(again.store);
  CHECK_FALSE(again.compressed);
  CHECK(*entry.headers.find("ETag") == "W/\"v1\"");
  CHECK(entry.headers.findAll("Vary").size() == 1);
}

TEST_CASE("zstd when configured; an existing Vary is merged") {
  config::CacheConfig cache = gzipCache();
  cache.compression.algorithm = config::CompressionConfig::Algorithm::kZstd;
  cache.compression.level = 3;
  Entry entry = jsonEntry(4096);
  entry.headers.add("Vary", "Accept-Language");
  entry.headers.set("ETag", "W/\"weak\"");
  REQUIRE(codeForStore(entry, cache).compressed);
  CHECK(*entry.headers.find("Content-Encoding") == "zstd");
  CHECK(entry.headers.hasToken("Vary", "accept-language"));
  CHECK(entry.headers.hasToken("Vary", "accept-encoding"));
  CHECK(*entry.headers.find("ETag") == "W/\"weak\"");  // already weak: unchanged
  CHECK_FALSE(entry.etag_weakened);
  CHECK(servedForm(entry, accepting("zstd")) == ServedForm::kAsStored);
  CHECK(servedForm(entry, accepting("gzip")) != ServedForm::kAsStored);
}

TEST_CASE("what is not compressed: small, other types, no-transform, 206, off, already coded") {
  config::CacheConfig cache = gzipCache();
  cache.compression.min_size = 2048;
  struct Row {
    const char* name;
    Entry entry;
  };
  Entry small = jsonEntry(2047);
  small.body.own().resize(2047, ' ');
  Entry image = jsonEntry(8192);
  image.headers.set("Content-Type", "image/png");
  Entry untyped = jsonEntry(8192);
  untyped.headers.remove("Content-Type");
  Entry no_transform = jsonEntry(8192);
  no_transform.headers.add("Cache-Control", "max-age=60, no-transform");
  Entry partial = jsonEntry(8192);
  partial.status = 206;
  Entry brotli = jsonEntry(8192);
  brotli.headers.add("Content-Encoding", "br");
  Row rows[] = {{"under min_size", small},         {"type not listed", image},
                {"no Content-Type", untyped},       {"no-transform", no_transform},
                {"206", partial},                   {"a coding larder cannot decode", brotli}};
  for (Row& row : rows) {
    CAPTURE(row.name);
    const Entry before = row.entry;
    StoreCodingResult result = codeForStore(row.entry, cache);
    CHECK(result.store);
    CHECK_FALSE(result.compressed);
    CHECK(row.entry == before);
    CHECK(servedForm(row.entry, http::HeaderMap()) == ServedForm::kAsStored);
  }
  Entry at_min = jsonEntry(4096);
  at_min.body.own().resize(2048, ' ');
  CHECK(codeForStore(at_min, cache).compressed);

  cache.compression.algorithm = config::CompressionConfig::Algorithm::kOff;
  Entry off = jsonEntry(8192);
  CHECK_FALSE(codeForStore(off, cache).compressed);
  CHECK_FALSE(off.headers.has("Content-Encoding"));
}

TEST_CASE("incompressible data is stored as it came") {
  config::CacheConfig cache = gzipCache();
  Entry entry = jsonEntry(4096);
  uint32_t x = 12345;
  for (char& c : entry.body.own()) {
    x = x * 1103515245 + 12345;
    c = static_cast<char>(x >> 24);
  }
  CHECK_FALSE(codeForStore(entry, cache).compressed);
  CHECK_FALSE(entry.headers.has("Content-Encoding"));
}

TEST_CASE("an upstream-gzipped answer is stored as it came, checked against max_object_size") {
  config::CacheConfig cache = gzipCache();
  cache.max_object_size = 64 * 1024;
  const std::string original = jsonBody(16 * 1024);
  Entry entry = jsonEntry(100);
  entry.body = *compress(Coding::kGzip, original, 6);
  entry.headers.add("Content-Encoding", "gzip");
  const std::string stored(entry.body.view());
  StoreCodingResult result = codeForStore(entry, cache);
  CHECK(result.store);
  CHECK_FALSE(result.compressed);
  CHECK_FALSE(entry.coded_here);
  CHECK(entry.body == stored);
  CHECK(*entry.headers.find("ETag") == "\"v1\"");  // the upstream's own: untouched
  CHECK_FALSE(entry.headers.has("Vary"));
  CHECK_FALSE(entry.etag_weakened);
  http::HeaderMap conditional;
  setUpstreamValidators(entry, conditional);
  CHECK(*conditional.find("If-None-Match") == "\"v1\"");
  http::HeaderMap upstream_vary;
  upstream_vary.add("Vary", "Accept-Encoding");  // the upstream's own line stays
  removeAddedVary(entry, upstream_vary);
  CHECK(upstream_vary.has("Vary"));
  REQUIRE(entry.decoded_length.has_value());
  CHECK(*entry.decoded_length == original.size());
  CHECK((toIdentityForm(entry, cache.max_object_size) == DecodeError::kNone));
  CHECK(entry.body == original);

  Entry bomb = jsonEntry(100);
  bomb.body = *compress(Coding::kGzip, std::string(cache.max_object_size + 1, '\0'), 9);
  bomb.headers.add("Content-Encoding", "gzip");
  StoreCodingResult refused = codeForStore(bomb, cache);
  CHECK_FALSE(refused.store);
  CHECK(refused.refusal == "coding_too_big");

  Entry corrupt = jsonEntry(100);
  corrupt.body = "\x1f\x8b garbage that is not deflate at all";
  corrupt.headers.add("Content-Encoding", "gzip");
  StoreCodingResult bad = codeForStore(corrupt, cache);
  CHECK_FALSE(bad.store);
  CHECK(bad.refusal == "coding_corrupt");
}

TEST_CASE("stored bytes that do not decode, or decode to another length, are refused") {
  config::CacheConfig cache = gzipCache();
  Entry entry = jsonEntry(8192);
  REQUIRE(codeForStore(entry, cache).compressed);

  Entry shorter = entry;  // a forged entry claiming less than it inflates to
  *shorter.decoded_length -= 1;
  CHECK((toIdentityForm(shorter, 1 << 20) == DecodeError::kTooBig));
  Entry longer = entry;
  *longer.decoded_length += 1;
  CHECK((toIdentityForm(longer, 1 << 20) != DecodeError::kNone));
  Entry over_limit = entry;
  CHECK((toIdentityForm(over_limit, 100) == DecodeError::kTooBig));
  Entry garbled = entry;
  garbled.body.own()[garbled.body.size() / 2] ^= 0x20;
  CHECK((toIdentityForm(garbled, 1 << 20) != DecodeError::kNone));
  Entry bomb = entry;  // a stored bomb that claims to fit
  bomb.body = *compress(Coding::kGzip, std::string(64 << 20, '\0'), 9);
  CHECK((toIdentityForm(bomb, 1 << 20) != DecodeError::kNone));
  CHECK(bomb.body.size() < (1 << 20));
}

// One decision (cache::servedForm), taken once by readyForClient and acted
// on by the Exchange: as stored, decoded whole, or decoded while sent.
TEST_CASE("the served form: as stored, decoded whole, or decoded while it is sent") {
  config::CacheConfig cache = gzipCache();
  Entry small = jsonEntry(8192);
  REQUIRE(codeForStore(small, cache).compressed);
  Entry large = jsonEntry(kDecodeWhileSendingFrom + 4096);
  REQUIRE(codeForStore(large, cache).compressed);
  http::HeaderMap ranged;
  ranged.add("Range", "bytes=0-9");
  http::HeaderMap ranged_gzip = accepting("gzip");
  ranged_gzip.add("Range", "bytes=0-9");

  CHECK(servedForm(jsonEntry(8192), http::HeaderMap()) == ServedForm::kAsStored);  // identity
  CHECK(servedForm(small, accepting("gzip")) == ServedForm::kAsStored);
  CHECK(servedForm(small, http::HeaderMap()) == ServedForm::kDecodeWhole);
  CHECK(servedForm(large, accepting("gzip")) == ServedForm::kAsStored);
  CHECK(servedForm(large, http::HeaderMap()) == ServedForm::kDecodeWhileSending);
  CHECK(servedForm(large, ranged) == ServedForm::kDecodeWhole);       // a range is cut from the whole body
  CHECK(servedForm(large, ranged_gzip) == ServedForm::kDecodeWhole);  // whatever the client accepts

  // readyForClient acts on it: decodes only the kDecodeWhole case.
  Entry entry = large;
  CHECK(readyForClient(entry, http::HeaderMap(), 1 << 20) == ServedForm::kDecodeWhileSending);
  CHECK(entry.body == large.body);  // left coded: decoded as it is sent
  CHECK(readyForClient(entry, ranged, 1 << 20) == ServedForm::kDecodeWhole);
  CHECK_FALSE(entry.headers.has("Content-Encoding"));
  CHECK(readyForClient(entry, ranged, 1 << 20) == ServedForm::kAsStored);  // idempotent: identity now
  entry = large;  // past the limit: neither form fits
  CHECK_FALSE(readyForClient(entry, http::HeaderMap(), 1024).has_value());
  entry = small;
  CHECK(readyForClient(entry, accepting("gzip"), 1 << 20) == ServedForm::kAsStored);
  CHECK(entry.body == small.body);
}
