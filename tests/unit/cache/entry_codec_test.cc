#include "cache/entry_codec.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <set>
#include <string>

using namespace larder;
using namespace larder::cache;
using namespace std::chrono_literals;

namespace {

Entry sampleEntry() {
  Entry entry;
  entry.status = 203;
  entry.reason = "Non-Authoritative Information";
  entry.headers.add("Content-Type", "application/json");
  entry.headers.add("ETag", "\"abc\"");
  entry.headers.add("X-Empty", "");
  entry.body = std::string("{\"id\":1}\0\xff binary", 17);
  entry.stored_at = base::WallTime(std::chrono::milliseconds(784111777123));
  entry.ttl = 3600s;
  entry.initial_age_seconds = 12;
  entry.identity = "id1;3:GET11:example.com";
  entry.versions = {{"v1:ns:products", "0123456789abcdef0123456789abcdef"}, {"v1:ns:uri:example.com/p", "ff"}};
  return entry;
}

// The tests below written before format version 3 check the head-first
// layout, which larder still reads (entries stored by earlier versions).
std::string headFirst(const Entry& entry) { return encodeEntry(entry, EntryLayout::kHeadFirst); }

void putU32(std::string& bytes, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Offsets in the version-1 layout (see entry_codec.h).
constexpr size_t kVersionAt = 4;
constexpr size_t kStatusAt = 5;
constexpr size_t kStoredAtAt = 7;
constexpr size_t kTtlAt = 15;
constexpr size_t kAgeAt = 23;
constexpr size_t kReasonLengthAt = 31;

}  // namespace

TEST_CASE("codec round trip keeps every field") {
  const Entry entry = sampleEntry();
  const std::string bytes = headFirst(entry);
  CHECK(bytes.substr(0, 5) == std::string("LRDR\x01", 5));
  const auto decoded = decodeEntry(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  CHECK(decoded->headers.fields()[1].value == "\"abc\"");
  CHECK(headFirst(*decoded) == bytes);
}

TEST_CASE("codec round trip of an empty entry and of edge values") {
  Entry empty;
  empty.stored_at = base::WallTime(std::chrono::milliseconds(0));
  const auto decoded = decodeEntry(headFirst(empty));
  REQUIRE(decoded.has_value());
  CHECK(*decoded == empty);

  Entry edges = sampleEntry();
  edges.status = 999;
  edges.stored_at = base::WallTime(std::chrono::milliseconds(7258118400000));  // the last instant allowed
  edges.ttl = 0ms;
  edges.body.assign(100000, 'x');
  for (int i = 0; i < 500; ++i) edges.headers.add("X-H" + std::to_string(i), std::string(static_cast<size_t>(i), 'v'));
  const auto decoded_edges = decodeEntry(headFirst(edges));
  REQUIRE(decoded_edges.has_value());
  CHECK(*decoded_edges == edges);
}

TEST_CASE("stored_at is kept to the millisecond") {
  Entry entry = sampleEntry();
  entry.stored_at = base::WallTime(std::chrono::milliseconds(1000)) + std::chrono::microseconds(999);
  const auto decoded = decodeEntry(headFirst(entry));
  REQUIRE(decoded.has_value());
  CHECK(decoded->stored_at == base::WallTime(std::chrono::milliseconds(1000)));
}

TEST_CASE("truncated input at every length is rejected") {
  const std::string bytes = headFirst(sampleEntry());
  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decodeEntry(std::string_view(bytes).substr(0, n)).has_value());
  }
}

TEST_CASE("malformed headers and fields are rejected") {
  const std::string good = headFirst(sampleEntry());
  REQUIRE(decodeEntry(good).has_value());
  struct Row {
    const char* name;
    size_t at;
    std::string patch;
  };
  const Row rows[] = {
      {"wrong magic", 0, "LRDX"},
      {"lower-case magic", 0, "lrdr"},
      {"format version 0", kVersionAt, std::string(1, '\0')},
      {"format version 2 with a version-1 layout", kVersionAt, "\x02"},
      {"format version 3", kVersionAt, "\x03"},
      {"status 99", kStatusAt, std::string("\x63\x00", 2)},
      {"status 1000", kStatusAt, std::string("\xe8\x03", 2)},
      {"negative stored_at", kStoredAtAt + 7, "\x80"},
      {"stored_at past year 2200", kStoredAtAt + 5, "\x10"},
      {"negative ttl", kTtlAt + 7, "\xff"},
      {"ttl beyond 10 years", kTtlAt + 5, "\x01"},
      {"initial age beyond 10 years", kAgeAt + 4, "\x01"},
      {"negative initial age", kAgeAt + 7, "\xff"},
      {"reason length past the end", kReasonLengthAt, "\xff\xff\xff\x7f"},
      {"reason length off by one", kReasonLengthAt, "\x1e"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    std::string bytes = good;
    bytes.replace(row.at, row.patch.size(), row.patch);
    CHECK_FALSE(decodeEntry(bytes).has_value());
  }
  CHECK_FALSE(decodeEntry(good + "x").has_value());  // trailing bytes
  CHECK_FALSE(decodeEntry("").has_value());
  CHECK_FALSE(decodeEntry("LRDR").has_value());
}

TEST_CASE("header and version counts are capped and checked against the input size") {
  Entry entry;
  entry.reason = "";
  const std::string base = headFirst(entry);
  // Empty entry: header count at 39, version count at 43.
  const size_t header_count_at = kReasonLengthAt + 4 + 4;
  const size_t version_count_at = header_count_at + 4;
  REQUIRE(decodeEntry(base).has_value());
  struct Row {
    const char* name;
    size_t at;
    uint32_t count;
  };
  const Row rows[] = {
      {"header count over the cap", header_count_at, kMaxHeaders + 1},
      {"header count past the input", header_count_at, 1},
      {"huge header count", header_count_at, 0xffffffffu},
      {"version count over the cap", version_count_at, kMaxVersions + 1},
      {"version count past the input", version_count_at, 2},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    std::string bytes = base;
    putU32(bytes, row.at, row.count);
    CHECK_FALSE(decodeEntry(bytes).has_value());
  }

  Entry at_cap;
  for (uint32_t i = 0; i < kMaxHeaders; ++i) at_cap.headers.add("", "");
  CHECK(decodeEntry(headFirst(at_cap)).has_value());
  at_cap.headers.add("", "");
  CHECK_FALSE(decodeEntry(headFirst(at_cap)).has_value());
}

TEST_CASE("random bytes and random mutations never crash the decoder") {
  std::mt19937_64 rng(12345);
  const std::string good = headFirst(sampleEntry());
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 200);
      for (char& c : bytes) c = static_cast<char>(rng());
      if (i % 4 == 0 && bytes.size() >= 5) bytes.replace(0, 5, std::string("LRDR\x01", 5));
    } else {
      bytes = good;
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    const auto decoded = decodeEntry(bytes);
    if (decoded) {
      // Whatever decodes is canonical: it re-encodes to the same bytes.
      CHECK(encodeEntry(*decoded, *layoutOf(bytes)) == bytes);
    }
  }
}

TEST_CASE("format version 2: coded entries keep their decoded length and flags") {
  Entry entry = sampleEntry();
  entry.decoded_length = 123456;
  entry.coded_here = true;
  entry.etag_weakened = true;
  const std::string bytes = headFirst(entry);
  CHECK(bytes[kVersionAt] == '\x02');
  auto decoded = decodeEntry(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  // Every flag alone, and none.
  for (int flags = 0; flags < 8; ++flags) {
    Entry e = sampleEntry();
    if (flags & 1) e.decoded_length = 0;
    e.coded_here = (flags & 2) != 0;
    e.etag_weakened = (flags & 4) != 0;
    auto d = decodeEntry(headFirst(e));
    REQUIRE(d.has_value());
    CHECK(*d == e);
    CHECK(headFirst(e)[kVersionAt] == (flags == 0 ? '\x01' : '\x02'));
  }
  // Unknown flag bits, a missing length and truncation are refused.
  const size_t flags_at = kAgeAt + 8;
  std::string unknown = bytes;
  unknown[flags_at] = static_cast<char>(unknown[flags_at] | 0x08);
  CHECK_FALSE(decodeEntry(unknown).has_value());
  std::string no_length = bytes;
  no_length[flags_at] = static_cast<char>(no_length[flags_at] & ~1);
  CHECK_FALSE(decodeEntry(no_length).has_value());
  // Version 2 with no flag is not canonical (that entry is written as
  // version 1), so it is refused: found by entry_codec_fuzz.
  std::string no_flags = headFirst(sampleEntry());
  no_flags[kVersionAt] = '\x02';
  no_flags.insert(flags_at, 1, '\0');
  CHECK_FALSE(decodeEntry(no_flags).has_value());
  for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(decodeEntry(std::string_view(bytes).substr(0, n)).has_value());
}

namespace {
// Format 3 (issue 13), which larder wrote before format 5.
std::string bodyFirst(const Entry& entry) { return encodeEntry(entry, EntryLayout::kBodyFirst); }
}  // namespace

TEST_CASE("body first (format 3): body, fields, length, version, magic") {
  const Entry entry = sampleEntry();
  const std::string bytes = bodyFirst(entry);
  CHECK(layoutOf(bytes) == EntryLayout::kBodyFirst);
  CHECK(bytes.substr(0, entry.body.size()) == entry.body);
  CHECK(bytes.substr(bytes.size() - 9) == std::string("\x11\x00\x00\x00\x03LRDR", 9));
  auto decoded = decodeEntry(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  CHECK(bodyFirst(*decoded) == bytes);
  // Every flag combination, and an empty body.
  for (int flags = 0; flags < 8; ++flags) {
    Entry e = sampleEntry();
    if (flags & 1) e.decoded_length = 77;
    e.coded_here = (flags & 2) != 0;
    e.etag_weakened = (flags & 4) != 0;
    if (flags == 5) e.body.clear();
    const std::string coded = bodyFirst(e);
    CHECK(layoutOf(coded) == EntryLayout::kBodyFirst);
    auto d = decodeEntry(coded);
    REQUIRE(d.has_value());
    CHECK(*d == e);
  }
}

TEST_CASE("decoding owned bytes keeps the body in the same buffer, in every layout") {
  Entry entry = sampleEntry();
  entry.body.assign(64 * 1024, 'j');
  for (EntryLayout layout : {EntryLayout::kCompact, EntryLayout::kBodyFirst, EntryLayout::kHeadFirst}) {
    CAPTURE(static_cast<int>(layout));
    std::string bytes = encodeEntry(entry, layout);
    const char* buffer = bytes.data();
    auto decoded = decodeEntry(std::move(bytes));
    REQUIRE(decoded.has_value());
    CHECK(*decoded == entry);
    CHECK(decoded->body.data() == buffer);  // no second 64 KiB allocation, no copy into one
  }
  CHECK_FALSE(decodeEntry(std::string("LRDR")).has_value());
  CHECK_FALSE(decodeEntry(std::string("{\"not\":\"an entry\"}")).has_value());
}

TEST_CASE("a body starting like the magic is written head first, so no entry reads as the other layout") {
  // "LRD" then status 338 (low byte 'R', high byte 1) would begin "LRDR\x01"
  // body first: a head-first version-1 prefix.
  for (const char* body : {"L", "LR", "LRD", "LRDR", "LRDR\x01", "LRDRbody"}) {
    CAPTURE(body);
    Entry entry = sampleEntry();
    entry.status = 338;
    entry.body = body;
    const std::string bytes = encodeEntry(entry);
    CHECK(layoutOf(bytes) == EntryLayout::kHeadFirst);
    auto decoded = decodeEntry(bytes);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == entry);
  }
  // A forged body-first encoding of such a body is refused (not canonical).
  Entry entry = sampleEntry();
  entry.body = "xRDRbody";
  std::string forged = encodeEntry(entry);
  REQUIRE(decodeEntry(forged).has_value());
  forged[0] = 'L';
  CHECK_FALSE(decodeEntry(forged).has_value());
  forged[0] = 'M';
  CHECK(decodeEntry(forged).has_value());
}

TEST_CASE("body first: truncation, a wrong body length, a bad trailer and trailing bytes are rejected") {
  const std::string good = bodyFirst(sampleEntry());
  REQUIRE(decodeEntry(good).has_value());
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(0, n)).has_value());
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(n + 1)).has_value());  // cut at the front
  }
  const size_t length_at = good.size() - 9;
  struct Row {
    const char* name;
    size_t at;
    std::string patch;
  };
  const Row rows[] = {
      {"body length one short", length_at, "\x10"},
      {"body length one long", length_at, "\x12"},
      {"body length past the end", length_at, "\xff\xff\xff\x7f"},
      {"format version 2 at the end", good.size() - 5, "\x02"},
      {"format version 4 at the end", good.size() - 5, "\x04"},
      {"wrong magic at the end", good.size() - 4, "LRDX"},
      {"status 99", 17, std::string("\x63\x00", 2)},
      {"unknown flag bit", 17 + 2 + 24, "\x08"},
  };
  for (const Row& row : rows) {
    CAPTURE(row.name);
    std::string bytes = good;
    bytes.replace(row.at, row.patch.size(), row.patch);
    CHECK_FALSE(decodeEntry(bytes).has_value());
    CHECK_FALSE(decodeEntry(std::string(bytes)).has_value());
  }
  CHECK_FALSE(decodeEntry(good + "x").has_value());
  CHECK_FALSE(decodeEntry(std::string(9, '\0') + "\x03LRDR").has_value());
}

TEST_CASE("random mutations of a body-first entry never crash and decode only canonically") {
  std::mt19937_64 rng(777);
  for (int i = 0; i < 40000; ++i) {
    const std::string good = encodeEntry(sampleEntry(), i % 2 ? EntryLayout::kCompact : EntryLayout::kBodyFirst);
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    const auto decoded = decodeEntry(bytes);
    if (decoded) CHECK(encodeEntry(*decoded, *layoutOf(bytes)) == bytes);
    const auto owned = decodeEntry(std::string(bytes));
    CHECK(owned.has_value() == decoded.has_value());
    if (owned && decoded) CHECK(*owned == *decoded);
  }
}

// A hit adds Age, Content-Length and the cache status fields to the decoded
// ones before sending them (proxy/exchange_cache.cc): decoding leaves room
// for them, so that adding them moves no field (a reallocation per hit
// before, issue 13).
TEST_CASE("a decoded entry's fields take the fields a hit adds without reallocating") {
  for (const EntryLayout layout : {EntryLayout::kCompact, EntryLayout::kBodyFirst, EntryLayout::kHeadFirst}) {
    for (const bool owned : {false, true}) {
      std::string bytes = encodeEntry(sampleEntry(), layout);
      auto decoded = owned ? decodeEntry(std::move(bytes)) : decodeEntry(std::string_view(bytes));
      REQUIRE(decoded.has_value());
      const http::Header* before = decoded->headers.fields().data();
      decoded->headers.set("Age", "0");
      decoded->headers.set("Content-Length", "17");
      decoded->headers.set("X-Cache", "HIT");
      decoded->headers.set("Cache-Status", "larder; hit");
      decoded->headers.set("Connection", "close");
      decoded->headers.set("X-Sixth", "1");
      CHECK(decoded->headers.fields().data() == before);
      CHECK(decoded->headers.size() == sampleEntry().headers.size() + 6);
    }
  }
}

// Format 4 (issue 13): a stored entry's tail names its bytes, so a store that
// kept a copy can ask whether it is still current without reading the value
// (store/redis/local_copies.h).
TEST_CASE("format 4: a tagged entry ends in its tag, which entryTagOf names") {
  Entry entry = sampleEntry();
  entry.tag = 0x0807060504030201;
  const std::string bytes = bodyFirst(entry);
  CHECK(layoutOf(bytes) == EntryLayout::kBodyFirst);
  const std::string tail("\x01\x02\x03\x04\x05\x06\x07\x08\x11\x00\x00\x00\x04LRDR", kEntryTagBytes);
  CHECK(bytes.substr(bytes.size() - kEntryTagBytes) == tail);
  CHECK(entryTagOf(bytes) == tail);
  auto decoded = decodeEntry(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  CHECK(bodyFirst(*decoded) == bytes);
  auto owned = decodeEntry(std::string(bytes));
  REQUIRE(owned.has_value());
  CHECK(*owned == entry);

  // Untagged and head-first encodings have no tag to name them.
  entry.tag = 0;
  CHECK(entryTagOf(bodyFirst(entry)).empty());
  entry.tag = 5;
  CHECK(entryTagOf(headFirst(entry)).empty());
  auto head_first = decodeEntry(headFirst(entry));
  REQUIRE(head_first.has_value());
  CHECK(head_first->tag == 0);  // the layout cannot carry one
  CHECK(entryTagOf("").empty());
  CHECK(entryTagOf(std::string("\x04LRDR", 5)).empty());
}

TEST_CASE("format 4: truncation, tag 0 and mutations are rejected or decode canonically") {
  Entry entry = sampleEntry();
  entry.tag = 0xfedcba9876543210;
  const std::string good = bodyFirst(entry);
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(0, n)).has_value());
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(n + 1)).has_value());
  }
  std::string zero_tag = good;
  zero_tag.replace(good.size() - kEntryTagBytes, 8, std::string(8, '\0'));
  CHECK_FALSE(decodeEntry(zero_tag).has_value());
  std::string as_format_3 = good;
  as_format_3[good.size() - 5] = '\x03';
  CHECK_FALSE(decodeEntry(as_format_3).has_value());
  std::mt19937_64 rng(4);
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    const auto decoded = decodeEntry(bytes);
    if (decoded) CHECK(encodeEntry(*decoded, *layoutOf(bytes)) == bytes);
  }
}

TEST_CASE("newEntryTag draws nonzero tags that do not repeat") {
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t tag = newEntryTag();
    CHECK(tag != 0);
    seen.insert(tag);
  }
  CHECK(seen.size() == 10000);
}

// A lookup answered from a store's kept copy (issue 13): the entry's body is
// a view of those bytes, never a copy, and changing it copies first.
TEST_CASE("decoding shared bytes views the body in them; changing it copies, never writes them") {
  Entry entry = sampleEntry();
  entry.body.assign(64 * 1024, 's');
  entry.tag = 9;
  auto bytes = std::make_shared<const std::string>(encodeEntry(entry));
  auto decoded = decodeEntryBytes(EntryBytes::shared(bytes));
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  CHECK(decoded->body.isShared());
  CHECK(decoded->body.data() == bytes->data());  // body first: the very bytes
  CHECK(decoded->body.owner() == bytes);

  const std::string before = *bytes;
  EntryBody copy = decoded->body;  // copying a shared body shares it
  CHECK(copy.data() == bytes->data());
  copy.own().append("!");
  CHECK_FALSE(copy.isShared());
  CHECK(copy.size() == 64 * 1024 + 1);
  CHECK(*bytes == before);
  std::string taken = std::move(decoded->body).take();
  CHECK(taken.size() == 64 * 1024);
  CHECK(taken.data() != bytes->data());
  decoded->body.clear();
  CHECK(decoded->body.empty());
  CHECK_FALSE(decoded->body.isShared());

  // Owned bytes decode as decodeOwnedEntry does; none decode to nothing.
  std::string owned = encodeEntry(entry);
  const char* buffer = owned.data();
  auto from_owned = decodeEntryBytes(EntryBytes(std::move(owned)));
  REQUIRE(from_owned.has_value());
  CHECK_FALSE(from_owned->body.isShared());
  CHECK(from_owned->body.data() == buffer);
  CHECK_FALSE(decodeEntryBytes(EntryBytes()).has_value());
  CHECK_FALSE(decodeEntryBytes(EntryBytes::shared(std::make_shared<const std::string>("LRDR"))).has_value());
}
