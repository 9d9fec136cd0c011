// Compact entries (format versions 5 and 6, cache/compact_fields.h): what
// larder writes by default. Round trips, the packed forms (table names,
// dates, hex token tails, shared key prefixes), how much smaller the head
// is, and the decoder's refusal of anything the encoder would not write.
#include "cache/entry_codec.h"

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "http/cache_control.h"

using namespace larder;
using namespace larder::cache;
using namespace std::chrono_literals;

namespace {

// What nginx in front of a JSON API stores: the fields of the benchmark's
// gzipped listing (bench/run), under a route and a URI namespace with
// created tokens.
Entry apiEntry() {
  Entry entry;
  entry.status = 200;
  entry.reason = "OK";
  entry.headers.add("Server", "nginx/1.22.1");
  entry.headers.add("Date", "Mon, 07 Dec 2026 11:30:33 GMT");
  entry.headers.add("Content-Type", "application/json");
  entry.headers.add("Content-Length", "13945");
  entry.headers.add("Last-Modified", "Mon, 07 Dec 2026 11:30:31 GMT");
  entry.headers.add("ETag", "W/\"6935f0d7-10000\"");
  entry.headers.add("Accept-Ranges", "bytes");
  entry.headers.add("Content-Encoding", "gzip");
  entry.headers.add("Vary", "Accept-Encoding");
  entry.body.assign(1000, 'z');
  entry.stored_at = base::WallTime(std::chrono::milliseconds(1796643033837));
  entry.ttl = 1h;
  entry.decoded_length = 65536;
  entry.coded_here = true;
  entry.etag_weakened = true;
  entry.identity = "id1;3:GET35:127.0.0.1:18080/bench/api-64k.json";
  entry.versions = {{"bench:ns:uri:127.0.0.1:18080/bench/api-64k.json", "+0df38603f969c0ba75b876a1f255435c"},
                    {"bench:ns:*", "+4715b282d2ad288acee8d947d443bffb"},
                    {"bench:ns:route:3", "1796643033837001.9a0c6f1e2b3d4c5e6f708192a3b4c5d6"}};
  entry.tag = 0x1122334455667788;
  return entry;
}

// The fields' bytes: what lies between the body and the trailer.
size_t headBytes(const std::string& encoded, const Entry& entry) {
  return encoded.size() - entry.body.size() - (entry.tag ? kEntryTagBytes : kEntryTagBytes - 8);
}

void checkRoundTrip(const Entry& entry) {
  const std::string bytes = encodeEntry(entry);
  CHECK(layoutOf(bytes) == EntryLayout::kCompact);
  const auto decoded = decodeEntry(bytes);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == entry);
  CHECK(encodeEntry(*decoded) == bytes);
  const auto owned = decodeEntry(std::string(bytes));
  REQUIRE(owned.has_value());
  CHECK(*owned == entry);
}

// `bytes` with the first `from` after `at` replaced by `to` (lengths may
// differ: the fields end where the trailer starts, so the body length holds).
std::string patched(std::string bytes, std::string_view from, std::string_view to, size_t at = 0) {
  const size_t where = bytes.find(from, at);
  REQUIRE(where != std::string::npos);
  return bytes.replace(where, from.size(), to);
}

}  // namespace

TEST_CASE("compact is the default: format 5, or 6 with a tag, ending as format 3 and 4 do") {
  Entry entry = apiEntry();
  std::string bytes = encodeEntry(entry);
  CHECK(bytes.substr(0, entry.body.size()) == entry.body);
  CHECK(bytes.substr(bytes.size() - kEntryTagBytes) ==
        std::string("\x88\x77\x66\x55\x44\x33\x22\x11\xe8\x03\x00\x00\x06LRDR", kEntryTagBytes));
  CHECK(entryTagOf(bytes) == bytes.substr(bytes.size() - kEntryTagBytes));
  checkRoundTrip(entry);
  entry.tag = 0;
  bytes = encodeEntry(entry);
  CHECK(bytes.substr(bytes.size() - 9) == std::string("\xe8\x03\x00\x00\x05LRDR", 9));
  CHECK(entryTagOf(bytes).empty());
  checkRoundTrip(entry);
}

TEST_CASE("a compact head is under 60% of format 4's for an API answer, and a 1 KiB value's under a third") {
  const Entry entry = apiEntry();
  const std::string compact = encodeEntry(entry);
  const std::string tagged = encodeEntry(entry, EntryLayout::kBodyFirst);
  MESSAGE("head bytes: format 4 ", headBytes(tagged, entry), ", format 6 ", headBytes(compact, entry));
  CHECK(headBytes(compact, entry) * 10 < headBytes(tagged, entry) * 6);
  CHECK(compact.size() - entry.body.size() < 1024 / 3);
}

TEST_CASE("compact round trips: flags, empty and odd fields, every packed form and its near misses") {
  checkRoundTrip(Entry{});
  Entry empty;
  empty.tag = 1;
  checkRoundTrip(empty);
  for (int flags = 0; flags < 8; ++flags) {
    Entry e = apiEntry();
    e.decoded_length.reset();
    if (flags & 1) e.decoded_length = 0;
    e.coded_here = (flags & 2) != 0;
    e.etag_weakened = (flags & 4) != 0;
    checkRoundTrip(e);
  }
  Entry edges = apiEntry();
  edges.status = 999;
  edges.stored_at = base::WallTime(std::chrono::milliseconds(7258118400000));
  edges.ttl = kMaxEntryTtl;
  edges.initial_age_seconds = std::chrono::duration_cast<std::chrono::seconds>(kMaxEntryTtl).count();
  edges.decoded_length = UINT64_MAX;
  edges.reason = std::string(300, 'r');  // a two-byte length
  edges.identity.clear();
  checkRoundTrip(edges);

  Entry fields;
  fields.headers.add("content-type", "application/json");  // lower case, in the table
  fields.headers.add("Content-type", "text/plain");        // other spellings are literal
  fields.headers.add("X-Custom", "");
  fields.headers.add("", "no name");
  fields.headers.add("Expires", "Thu, 01 Jan 1970 00:00:00 GMT");  // the first date
  fields.headers.add("Expires", "Tue, 31 Dec 2199 23:59:59 GMT");  // the last packed
  fields.headers.add("Expires", "Wed, 01 Jan 2200 00:00:00 GMT");  // literal
  fields.headers.add("Expires", "Fri, 31 Dec 9999 23:59:59 GMT");  // literal
  fields.headers.add("Date", "Sun, 07 Dec 2026 11:30:33 GMT");     // wrong weekday: literal
  fields.headers.add("Date", "Mon,  7 Dec 2026 11:30:33 GMT");     // not IMF-fixdate: literal
  fields.headers.add("Date", "Monday, 07-Dec-26 11:30:33 GMT");    // RFC 850: literal
  fields.headers.add("X-When", "Mon, 07 Dec 2026 11:30:33 GMT");   // a date under any name
  fields.headers.add("Date", "Wed, 31 Dec 1969 23:59:59 GMT");     // before the epoch: literal
  fields.headers.add("Date", "Mon, 07 Dec 2026 11:30:60 GMT");     // a leap second: literal
  fields.headers.add("Via", std::string(200, 'v'));
  checkRoundTrip(fields);

  Entry versions;
  versions.versions = {
      {"", ""},
      {"p:ns:a", "+0123456789abcdef0123456789abcdef"},                 // created: packed
      {"p:ns:ab", "17.0123456789abcdef0123456789abcdef"},              // written: packed tail
      {"p:ns:a", "0123456789abcdef0123456789abcdef0123"},              // longer than 32: packed tail
      {"p:ns", "+0123456789ABCDEF0123456789abcdef"},                   // upper case: literal
      {"q", "+0123456789abcdef0123456789abcde"},                       // 31 digits: literal
      {"q", "+0123456789abcdef0123456789abcdeg"},                      // not hex: literal
      {"q:ns:same", ""},
      {"q:ns:same", "ff"},
  };
  checkRoundTrip(versions);
}

// The decoder keeps the dates it formatted last, per thread: entries whose
// dates share a slot (the same seconds modulo 8), or come back after their
// slot was taken, still decode to their own.
TEST_CASE("compact dates decode to their own text, whatever was decoded before") {
  std::mt19937_64 random(7);
  std::vector<int64_t> seconds = {0, 8, 16, 1796643033, 1796643041, 1796643033, 7258118399, 7258118391};
  for (int i = 0; i < 2000; ++i) seconds.push_back(static_cast<int64_t>(random() % 7258118400));
  for (size_t i = 0; i + 1 < seconds.size(); ++i) {
    Entry entry;
    entry.headers.add("Date", http::formatHttpDate(base::WallTime(std::chrono::seconds(seconds[i]))));
    entry.headers.add("Last-Modified", http::formatHttpDate(base::WallTime(std::chrono::seconds(seconds[i + 1]))));
    const std::string encoded = encodeEntry(entry);
    REQUIRE(encoded.size() < 64);  // both packed
    const std::optional<Entry> decoded = decodeEntry(encoded);
    REQUIRE(decoded);
    REQUIRE(*decoded == entry);
  }
}

TEST_CASE("compact: truncation, cuts at the front and random mutations are refused or decode canonically") {
  Entry entry = apiEntry();
  entry.body = "{\"id\":1}";
  const std::string good = encodeEntry(entry);
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(0, n)).has_value());
    CHECK_FALSE(decodeEntry(std::string_view(good).substr(n + 1)).has_value());
  }
  CHECK_FALSE(decodeEntry(good + "x").has_value());
  std::string zero_tag = good;
  zero_tag.replace(good.size() - kEntryTagBytes, 8, std::string(8, '\0'));
  CHECK_FALSE(decodeEntry(zero_tag).has_value());
  std::string as_format_4 = good;
  as_format_4[good.size() - 5] = '\x04';
  CHECK_FALSE(decodeEntry(as_format_4).has_value());
  std::mt19937_64 rng(55);
  for (int i = 0; i < 40000; ++i) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) bytes[entry.body.size() + rng() % (bytes.size() - entry.body.size())] = static_cast<char>(rng());
    const auto decoded = decodeEntry(bytes);
    if (decoded) CHECK(encodeEntry(*decoded, *layoutOf(bytes)) == bytes);
  }
}

// Each row edits one field of a valid compact entry into a form the encoder
// never writes; the control edit next to it keeps the entry valid, so the
// refusal is the packing rule's and not a broken offset's.
TEST_CASE("compact: what the encoder would have written otherwise is refused") {
  Entry entry;
  entry.body = "b";
  entry.status = 203;
  entry.headers.add("X-A", "1");
  entry.headers.add("X-D", "Sun, 06 Nov 1994 08:49:37 GMX");
  entry.versions = {{"ab", "+0123456789abcdef0123456789abcdeg"}, {"ac", "t"}};
  const std::string good = encodeEntry(entry);
  REQUIRE(decodeEntry(good).has_value());
  const size_t fields_at = entry.body.size();
  // Status 203 is the varint cb 01.
  REQUIRE(good.substr(fields_at, 2) == "\xcb\x01");

  struct Row {
    const char* name;
    std::string refused;
    std::string accepted;
  };
  const Row rows[] = {
      {"a varint one byte longer than it needs",
       patched(good, "\xcb\x01", std::string("\xcb\x81\x00", 3), fields_at), good},
      {"status out of range", patched(good, "\xcb\x01", "\xe8\x07", fields_at),
       patched(good, "\xcb\x01", "\xe7\x07", fields_at)},
      {"a literal name the table holds", patched(good, "X-A", "Via"), patched(good, "X-A", "X-B")},
      {"a name index past the table", patched(good, std::string("\x00\x03X-A", 5), "\x7f"),
       patched(good, std::string("\x00\x03X-A", 5), "\x22")},
      {"a literal IMF-fixdate", patched(good, "GMX", "GMT"), patched(good, "GMX", "GMY")},
      {"a literal token ending in 32 hex digits", patched(good, "deg", "def"), patched(good, "deg", "deh")},
      // "ac" after "ab" shares one byte: written as shared 1, "c".
      {"a shared prefix shorter than the longest", patched(good, "\x01\x01" "c", std::string("\x00\x02" "ac", 4)),
       patched(good, "\x01\x01" "c", "\x01\x01" "d")},
      {"the first key sharing with none", patched(good, std::string("\x00\x02" "ab", 4), "\x01\x01" "b"),
       patched(good, std::string("\x00\x02" "ab", 4), std::string("\x00\x02" "aa", 4))},
  };
  for (const Row& row : rows) {
    CAPTURE(std::string(row.name));
    CHECK_FALSE(decodeEntry(row.refused).has_value());
    CHECK(decodeEntry(row.accepted).has_value());
  }
}
