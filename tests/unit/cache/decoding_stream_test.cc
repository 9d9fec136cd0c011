#include "cache/decoding_stream.h"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "json_body.h"

using namespace larder;
using namespace larder::cache;
using larder::test::jsonBody;
using Status = DecodingStream::Status;

namespace {

std::string packed(Coding coding, std::string_view body) {
  auto out = compress(coding, body, coding == Coding::kGzip ? 6 : 3);
  REQUIRE(out.has_value());
  return *out;
}

struct Outcome {
  Status status = Status::kChunk;
  std::string body;            // every chunk, concatenated
  size_t largest_chunk = 0;
};

// Feeds `coded` in pieces of `piece` bytes (0: whole), drains every chunk.
Outcome run(Coding coding, std::string_view coded, uint64_t limit, size_t chunk, size_t piece = 0) {
  DecodingStream stream(coding, limit, chunk);
  Outcome out;
  size_t at = 0;
  auto feedNext = [&] {
    const size_t n = piece == 0 ? coded.size() - at : std::min(piece, coded.size() - at);
    stream.feed(coded.substr(at, n), at + n == coded.size());
    at += n;
  };
  feedNext();
  std::string c;
  for (int guard = 0; guard < 10000000; ++guard) {
    out.status = stream.next(c);
    if (out.status == Status::kChunk) {
      CHECK_FALSE(c.empty());
      out.largest_chunk = std::max(out.largest_chunk, c.size());
      out.body += c;
      continue;
    }
    if (out.status == Status::kNeedInput) {
      REQUIRE(at < coded.size());
      feedNext();
      continue;
    }
    CHECK(c.empty());
    CHECK((stream.next(c) == out.status));  // final statuses stick
    CHECK(stream.total() == out.body.size());
    return out;
  }
  FAIL("the stream never ended");
  return out;
}

}  // namespace

TEST_CASE("gzip and zstd bodies stream out whole, in chunks no larger than asked") {
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    for (size_t size : {0, 1, 1000, 65536, 300000}) {
      CAPTURE(size);
      const std::string body = jsonBody(size);
      const std::string coded = packed(coding, body);
      for (size_t chunk : {1, 7, 4096, 16384, 1 << 20}) {
        if (chunk == 1 && size > 1000) continue;  // a byte at a time: slow, same code
        Outcome out = run(coding, coded, body.size(), chunk);
        CHECK((out.status == Status::kDone));
        CHECK(out.body == body);
        CHECK(out.largest_chunk <= chunk);
      }
    }
  }
}

TEST_CASE("input split at every boundary decodes the same") {
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    const std::string body = jsonBody(3000);
    const std::string coded = packed(coding, body);
    // Two pieces, split at every byte; then every piece size.
    for (size_t split = 0; split <= coded.size(); ++split) {
      CAPTURE(split);
      DecodingStream stream(coding, body.size(), 512);
      std::string decoded, c;
      stream.feed(std::string_view(coded).substr(0, split), false);
      Status s;
      while ((s = stream.next(c)) == Status::kChunk) decoded += c;
      REQUIRE((s == Status::kNeedInput));
      stream.feed(std::string_view(coded).substr(split), true);
      while ((s = stream.next(c)) == Status::kChunk) decoded += c;
      CHECK((s == Status::kDone));
      CHECK(decoded == body);
    }
    for (size_t piece = 1; piece <= 64; ++piece) {
      CAPTURE(piece);
      Outcome out = run(coding, coded, body.size(), 100, piece);
      CHECK((out.status == Status::kDone));
      CHECK(out.body == body);
    }
  }
}

TEST_CASE("a compression bomb is refused at the limit, never expanded past it") {
  const std::string zeros(16 * 1024 * 1024, '\0');
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    const std::string bomb = packed(coding, zeros);
    CHECK(bomb.size() < 64 * 1024);
    const uint64_t limit = 1024 * 1024;
    Outcome out = run(coding, bomb, limit, 16384);
    CHECK((out.status == Status::kTooBig));
    CHECK(out.body.size() <= limit);
    // Exactly at its size it decodes; one byte under, it is refused.
    const std::string body = jsonBody(5000);
    const std::string coded = packed(coding, body);
    CHECK((run(coding, coded, body.size(), 1000).status == Status::kDone));
    Outcome under = run(coding, coded, body.size() - 1, 1000);
    CHECK((under.status == Status::kTooBig));
    CHECK(under.body.size() <= body.size() - 1);
    CHECK((run(coding, coded, 0, 1000).status == Status::kTooBig));
  }
}

TEST_CASE("truncated input at every length is corrupt, and what came out is a prefix") {
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    CAPTURE(codingName(coding));
    const std::string body = jsonBody(2000);
    const std::string coded = packed(coding, body);
    for (size_t n = 0; n < coded.size(); ++n) {
      CAPTURE(n);
      Outcome out = run(coding, std::string_view(coded).substr(0, n), body.size(), 256);
      CHECK((out.status == Status::kCorrupt));
      CHECK(body.starts_with(out.body));
    }
  }
}

TEST_CASE("garbage, another coding and trailing bytes are corrupt") {
  const std::string body = jsonBody(2000);
  const std::string gz = packed(Coding::kGzip, body);
  const std::string zs = packed(Coding::kZstd, body);
  struct Row {
    const char* name;
    Coding coding;
    std::string coded;
  };
  std::mt19937_64 rng(99);
  std::string noise(4096, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::string flipped_gz = gz;
  flipped_gz[gz.size() / 2] = static_cast<char>(flipped_gz[gz.size() / 2] ^ 0x55);
  std::string bad_crc = gz;
  bad_crc[gz.size() - 6] = static_cast<char>(bad_crc[gz.size() - 6] ^ 1);
  const Row rows[] = {
      {"random bytes as gzip", Coding::kGzip, noise},
      {"random bytes as zstd", Coding::kZstd, noise},
      {"zstd bytes as gzip", Coding::kGzip, zs},
      {"gzip bytes as zstd", Coding::kZstd, gz},
      {"identity body as gzip", Coding::kGzip, body},
      {"gzip with trailing bytes", Coding::kGzip, gz + "x"},
      {"two gzip members", Coding::kGzip, gz + gz},
      {"zstd with trailing garbage", Coding::kZstd, zs + "garbage!"},
      {"gzip with a flipped byte", Coding::kGzip, flipped_gz},
      {"gzip with a bad CRC", Coding::kGzip, bad_crc},
      {"empty gzip input", Coding::kGzip, ""},
      {"empty zstd input", Coding::kZstd, ""},
      {"identity coding", Coding::kIdentity, body},
      {"another coding", Coding::kOther, gz},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    CHECK((run(row.coding, row.coded, 1 << 20, 1024).status == Status::kCorrupt));
  }
  // Two zstd frames are one body (RFC 8878 §3), as decompress() reads it.
  Outcome two = run(Coding::kZstd, zs + zs, 1 << 20, 1024);
  CHECK((two.status == Status::kDone));
  CHECK(two.body == body + body);
}

TEST_CASE("random mutations never crash and never pass the limit") {
  std::mt19937_64 rng(4242);
  const std::string body = jsonBody(4000);
  for (Coding coding : {Coding::kGzip, Coding::kZstd}) {
    const std::string coded = packed(coding, body);
    for (int i = 0; i < 2000; ++i) {
      std::string bytes = coded;
      const int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
      Outcome out = run(coding, bytes, body.size(), 333, 1 + rng() % 200);
      CHECK(out.body.size() <= body.size());
      if (out.status == Status::kDone) CHECK(decompress(coding, bytes, body.size()).body == out.body);
    }
  }
}

TEST_CASE("reset starts a new body, after a finished, a failed or an abandoned one, in either coding") {
  const std::string body = jsonBody(5000);
  const std::string gz = packed(Coding::kGzip, body);
  const std::string zs = packed(Coding::kZstd, body);
  DecodingStream stream(Coding::kGzip, body.size(), 1024);
  auto drain = [&](std::string_view coded) {
    stream.feed(coded, true);
    std::string out, c;
    Status s;
    while ((s = stream.next(c)) == Status::kChunk) out += c;
    CHECK(stream.total() == out.size());
    return std::make_pair(s, out);
  };
  auto done = drain(gz);
  CHECK((done.first == Status::kDone));
  CHECK(done.second == body);
  stream.reset(Coding::kGzip, body.size());
  CHECK((drain(std::string_view(gz).substr(0, gz.size() / 2)).first == Status::kCorrupt));
  stream.reset(Coding::kGzip, body.size() - 1);
  CHECK((drain(gz).first == Status::kTooBig));
  // Abandoned half way: the next body starts clean.
  stream.reset(Coding::kZstd, body.size());
  stream.feed(zs, true);
  std::string c;
  REQUIRE((stream.next(c) == Status::kChunk));
  stream.reset(Coding::kZstd, body.size());
  done = drain(zs);
  CHECK((done.first == Status::kDone));
  CHECK(done.second == body);
  stream.reset(Coding::kGzip, body.size());
  done = drain(gz);
  CHECK((done.first == Status::kDone));
  CHECK(done.second == body);
}
