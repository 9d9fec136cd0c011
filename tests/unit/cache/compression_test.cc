#include "cache/compression.h"

#include <doctest/doctest.h>
#include <zstd.h>

#include <string>

#include "json_body.h"

using namespace larder;
using namespace larder::cache;
using larder::test::jsonBody;

namespace {

http::HeaderMap acceptEncoding(std::string_view value) {
  http::HeaderMap h;
  h.add("Accept-Encoding", std::string(value));
  return h;
}

// A zstd frame that does not declare its decoded size.
std::string zstdWithoutSize(std::string_view body) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  std::string out(ZSTD_compressBound(body.size()) + 64, '\0');
  ZSTD_inBuffer in{body.data(), body.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t left = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
  ZSTD_freeCCtx(cctx);
  REQUIRE(left == 0);
  out.resize(o.pos);
  return out;
}

}  // namespace

TEST_CASE("gzip and zstd round trip, smaller than the JSON they code") {
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    for (size_t size : {0, 1, 1024, 65536}) {
      const std::string body = jsonBody(size);
      auto packed = compress(coding, body, coding == Coding::kGzip ? 6 : 3);
      REQUIRE(packed.has_value());
      if (size >= 1024) CHECK(packed->size() * 3 < body.size());
      Decoded decoded = decompress(coding, *packed, body.size());
      CHECK((decoded.error == DecodeError::kNone));
      CHECK(decoded.body == body);
    }
  }
  CHECK_FALSE(compress(Coding::kIdentity, "x", 1).has_value());
  CHECK_FALSE(compress(Coding::kOther, "x", 1).has_value());
}

TEST_CASE("a gzip bomb is refused, not expanded") {
  const std::string zeros(16 * 1024 * 1024, '\0');
  auto bomb = compress(Coding::kGzip, zeros, 9);
  REQUIRE(bomb.has_value());
  CHECK(bomb->size() < 64 * 1024);
  Decoded decoded = decompress(Coding::kGzip, *bomb, 1024 * 1024);
  CHECK((decoded.error == DecodeError::kTooBig));
  CHECK(decoded.body.empty());
  // The same bomb lying about its size in the trailer (ISIZE = 100): still
  // never more than the buffer it claimed.
  std::string liar = *bomb;
  liar.replace(liar.size() - 4, 4, std::string("\x64\0\0\0", 4));
  Decoded lied = decompress(Coding::kGzip, liar, 1024 * 1024);
  CHECK((lied.error != DecodeError::kNone));
  CHECK(lied.body.empty());
  // Exactly at the limit is fine; one byte over is not.
  auto exact = compress(Coding::kGzip, std::string(4096, 'a'), 6);
  CHECK((decompress(Coding::kGzip, *exact, 4096).error == DecodeError::kNone));
  CHECK((decompress(Coding::kGzip, *exact, 4095).error == DecodeError::kTooBig));
}

TEST_CASE("a zstd bomb is refused, with or without a declared size") {
  const std::string zeros(16 * 1024 * 1024, '\0');
  auto declared = compress(Coding::kZstd, zeros, 3);
  REQUIRE(declared.has_value());
  CHECK((decompress(Coding::kZstd, *declared, 1024 * 1024).error == DecodeError::kTooBig));
  const std::string undeclared = zstdWithoutSize(zeros);
  CHECK(undeclared.size() < 64 * 1024);
  Decoded decoded = decompress(Coding::kZstd, undeclared, 1024 * 1024);
  CHECK((decoded.error == DecodeError::kTooBig));
  CHECK(decoded.body.empty());
  // Without a declared size, exactly at the limit decodes.
  const std::string body = jsonBody(10000);
  Decoded exact = decompress(Coding::kZstd, zstdWithoutSize(body), body.size());
  CHECK((exact.error == DecodeError::kNone));
  CHECK(exact.body == body);
  CHECK((decompress(Coding::kZstd, zstdWithoutSize(body), body.size() - 1).error == DecodeError::kTooBig));
}

TEST_CASE("corrupt, truncated and trailing data are refused") {
  const std::string body = jsonBody(4096);
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    const std::string packed = *compress(coding, body, 3);
    for (size_t n = 0; n < packed.size(); n += 7) {
      CAPTURE(n);
      CHECK((decompress(coding, packed.substr(0, n), 1 << 20).error != DecodeError::kNone));
    }
    // Refused either way (gzip then reads a wrong ISIZE, maybe "too big").
    CHECK((decompress(coding, packed + "x", 1 << 20).error != DecodeError::kNone));
    std::string flipped = packed;
    flipped[packed.size() / 2] = static_cast<char>(flipped[packed.size() / 2] ^ 0x55);
    Decoded bad = decompress(coding, flipped, 1 << 20);
    // A flipped bit may still inflate, but never to the original: a checksum
    // (gzip CRC-32; zstd's block structure) or the size gives it away.
    if (bad.error == DecodeError::kNone) CHECK(bad.body != body);
    CHECK((decompress(coding, "not compressed at all", 1 << 20).error == DecodeError::kCorrupt));
    CHECK((decompress(coding, "", 1 << 20).error == DecodeError::kCorrupt));
  }
  CHECK((decompress(Coding::kGzip, *compress(Coding::kZstd, body, 3), 1 << 20).error == DecodeError::kCorrupt));
  CHECK((decompress(Coding::kOther, body, 1 << 20).error == DecodeError::kCorrupt));
}

TEST_CASE("Content-Encoding values name codings") {
  struct Row {
    const char* value;
    Coding coding;
  };
  const Row rows[] = {{"", Coding::kIdentity},      {"identity", Coding::kIdentity}, {" gzip ", Coding::kGzip},
                      {"GZIP", Coding::kGzip},      {"x-gzip", Coding::kGzip},       {"zstd", Coding::kZstd},
                      {"br", Coding::kOther},       {"deflate", Coding::kOther},     {"gzip, br", Coding::kOther},
                      {"gzip,gzip", Coding::kOther}};
  for (const Row& row : rows) {
    CAPTURE(row.value);
    CHECK(parseCoding(row.value) == row.coding);
  }
}

TEST_CASE("compressible types: listed types and type/* ranges, parameters ignored") {
  const std::vector<std::string> types{"application/json", "text/*"};
  CHECK(isCompressibleType("application/json", types));
  CHECK(isCompressibleType("Application/JSON; charset=utf-8", types));
  CHECK(isCompressibleType("text/html", types));
  CHECK(isCompressibleType(" text/plain;charset=x", types));
  CHECK_FALSE(isCompressibleType("application/json-seq", types));
  CHECK_FALSE(isCompressibleType("image/png", types));
  CHECK_FALSE(isCompressibleType("texts/plain", types));
  CHECK_FALSE(isCompressibleType("text", types));
  CHECK_FALSE(isCompressibleType("", types));
  CHECK_FALSE(isCompressibleType("/json", types));
  CHECK_FALSE(isCompressibleType("application/json", {}));
}

TEST_CASE("Accept-Encoding: weights, identity, * and x-gzip (RFC 9110 §12.5.3)") {
  struct Row {
    const char* accept;  // nullptr: no field
    const char* coding;
    bool accepted;
  };
  const Row rows[] = {
      {nullptr, "gzip", false},  // no field: the identity form (as nginx and Varnish)
      {"", "gzip", false},
      {"gzip", "gzip", true},
      {"GZip", "gzip", true},
      {"x-gzip", "gzip", true},
      {"deflate, gzip;q=0.5", "gzip", true},
      {"gzip;q=0", "gzip", false},
      {"gzip; q=0.000", "gzip", false},
      {"gzip;Q=0.0", "gzip", false},
      {"gzip;q=0.001", "gzip", true},
      {"gzip;q=1", "gzip", true},
      {"gzip;q=1.000", "gzip", true},
      {"gzip;q=1.5", "gzip", false},   // not a qvalue: zero
      {"gzip;q=abc", "gzip", false},
      {"gzip;q=0.0001", "gzip", false},
      {"gzip;level=1", "gzip", true},  // no weight: 1
      {"*", "gzip", true},
      {"*;q=0", "gzip", false},
      {"*, gzip;q=0", "gzip", false},  // named beats *
      {"gzip;q=0.5, *;q=0", "gzip", true},
      {"identity;q=0", "gzip", false},
      {"identity;q=0, *", "gzip", true},
      {"br, zstd", "zstd", true},
      {"br, zstd", "gzip", false},
      {"gzipped", "gzip", false},
      {" , ,gzip", "gzip", true},
  };
  for (const Row& row : rows) {
    CAPTURE(row.accept ? row.accept : "(none)");
    CAPTURE(row.coding);
    http::HeaderMap h = row.accept ? acceptEncoding(row.accept) : http::HeaderMap();
    CHECK(acceptsCoding(h, row.coding) == row.accepted);
  }
  http::HeaderMap two;  // field lines combine (RFC 9110 §5.3)
  two.add("Accept-Encoding", "br");
  two.add("Accept-Encoding", "gzip");
  CHECK(acceptsCoding(two, "gzip"));
  CHECK_FALSE(acceptsCoding(acceptEncoding("gzip"), ""));
}
