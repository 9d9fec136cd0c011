// A stored response and its binary encoding. The Store holds opaque bytes
// (STYLE §1), so everything a hit needs travels in the entry: the status,
// reason, storable header fields and body; when it was stored, its TTL and
// the upstream's Age (to compute Age on a hit); the full request identity
// (compared on read, DESIGN invariant 7); and the namespace versions it was
// fetched under (DESIGN invariant 3).
//
// Layouts. Integers are little-endian; str = u32 length, then that many
// bytes. Three layouts hold the same fields; decodeEntry reads them all.
//
// Head first (format versions 1 and 2, written before issue 13):
//   "LRDR"            4 bytes, magic
//   version           u8 = 1
//   status            u16, 100..999
//   stored_at         i64, milliseconds since the Unix epoch, 0..year 2200
//   ttl               i64, milliseconds, 0..10 years
//   initial_age       i64, seconds, 0..10 years
//   reason            str
//   identity          str
//   header count      u32 (<= kMaxHeaders), then per field: name str, value str
//   version count     u32 (<= kMaxVersions), then per version: key str, token str
//   body              str
// Format version 2 (written only for entries stored in a content coding,
// cache/stored_coding.h) adds, after initial_age:
//   flags             u8: bit 0 decoded_length follows, bit 1 coded_here,
//                     bit 2 etag_weakened; other bits must be 0
//   decoded_length    u64, if flagged
// Nothing may follow the body.
//
// Body first (format versions 3 and 4): the body's bytes come
// first, so that decoding an owned buffer (decodeEntry(std::string&&))
// keeps them where they are and only truncates the buffer: a hit copies a
// body once, from the Redis reply into that buffer (issue 13).
//   body              body_length bytes, not starting with a prefix of "LRDR"
//   status, stored_at, ttl, initial_age   as above
//   flags             u8 as above (0 allowed), decoded_length u64 if flagged
//   reason, identity, headers, versions   as above
//   tag               u64, format version 4 only (an entry with a tag)
//   body_length       u32
//   version           u8 = 3, or 4 with a tag
//   "LRDR"            4 bytes, magic, at the very end
// Compact (format versions 5 and 6, written by default): body first, as 3
// and 4 are, with the same trailer (6 for an entry with a tag); the fields
// between body and trailer are written as cache/compact_fields.h says,
// in about half the bytes.
// The tag is random, fresh each time an entry is stored: the last
// kEntryTagBytes of a format 4 or 6 encoding name those bytes, so a store that
// kept a copy of them can ask whether the copy is still what it holds by
// comparing that tail alone (store/redis/local_copies.h).
// Which layout: bytes starting with "LRDR" and version 1 or 2 are head
// first, and nothing else is; otherwise bytes ending in version 3 to 6 and
// "LRDR" are body first. encodeEntry writes a body that starts with a
// prefix of "LRDR" ("L", "LR", ...) head first, so that no encoding can be
// read in the other layout (a body's bytes, which the upstream chooses,
// never pass for fields). An empty
// body's layout starts with the status, whose second byte is at most 3.
// larder before version 3 reads a body-first entry as a miss, larder
// before version 4 a tagged one, and larder before version 5 a compact one.
//
// Decoding bytes from a shared store is untrusted input: every length is
// checked before it is used.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.h"
#include "cache/entry_body.h"
#include "cache/entry_bytes.h"
#include "http/header_map.h"

namespace larder::cache {

inline constexpr uint8_t kEntryFormatVersion = 1;
inline constexpr uint8_t kCodedEntryFormatVersion = 2;
inline constexpr uint8_t kBodyFirstFormatVersion = 3;
inline constexpr uint8_t kTaggedFormatVersion = 4;
inline constexpr uint8_t kCompactFormatVersion = 5;
inline constexpr uint8_t kCompactTaggedFormatVersion = 6;
// A tagged encoding's tail that names it: tag, body_length, version, magic.
inline constexpr size_t kEntryTagBytes = 8 + 4 + 1 + 4;
inline constexpr uint32_t kMaxHeaders = 10000;
inline constexpr uint32_t kMaxVersions = 10000;
// The longest TTL an entry can carry (and the largest initial age); policy
// caps TTLs to it.
inline constexpr std::chrono::milliseconds kMaxEntryTtl = std::chrono::hours(24 * 366 * 10);

struct Entry {
  int status = 200;
  std::string reason;
  http::HeaderMap headers;
  EntryBody body;
  base::WallTime stored_at;          // kept to the millisecond
  std::chrono::milliseconds ttl{0};
  int64_t initial_age_seconds = 0;
  std::string identity;                                          // RequestIdentity::serialize()
  std::vector<std::pair<std::string, std::string>> versions;     // (version key, token) it was fetched under
  // Set when the body is in the content coding its Content-Encoding names
  // and was decoded once, when stored, to this many bytes (at most
  // cache.max_object_size): the identity form's length.
  std::optional<uint64_t> decoded_length;
  // larder applied that coding (the upstream sent the identity form).
  bool coded_here = false;
  // larder made the upstream's strong ETag weak (cache/stored_coding.h).
  bool etag_weakened = false;
  // Nonzero: written (body first) as format 4 or 6, whose tail names the
  // encoding. newEntryTag() for each entry stored; 0 for none.
  uint64_t tag = 0;
};

// A random nonzero tag, fresh on every call.
uint64_t newEntryTag();

// Field by field; headers compare in order, names exactly.
bool operator==(const Entry& a, const Entry& b);

enum class EntryLayout {
  kCompact,    // format version 5, or 6 with a tag (head first if the body starts with a prefix of "LRDR")
  kBodyFirst,  // format version 3, or 4 with a tag (likewise)
  kHeadFirst,  // format version 1, or 2 if the entry has decoded_length, coded_here or etag_weakened
};

// Precondition: the entry fits the layout (status 100..999, times in range,
// at most kMaxHeaders fields and kMaxVersions versions, each string and the
// body under 4 GiB); the caller builds entries from parsed responses, which
// satisfy it. Out-of-range values would fail to decode, never mis-decode.
// kBodyFirst and kHeadFirst are for tests of the layouts earlier larder
// wrote, which decodeEntry still reads (entries in a shared store outlive
// an upgrade).
std::string encodeEntry(const Entry& entry, EntryLayout layout = EntryLayout::kCompact);

// The layout `bytes` would be decoded in; nullopt if neither (see the top).
std::optional<EntryLayout> layoutOf(std::string_view bytes);

// The tail that names a tagged encoding (its last kEntryTagBytes); empty for
// anything else. Reads only the tail: a well-formed tail on malformed bytes
// still names them, and decoding still refuses them.
std::string_view entryTagOf(std::string_view bytes);

// nullopt for anything that is not a complete, well-formed entry of format
// version 1 to 6: wrong magic or version, a length past the end, a count
// over its cap, a value out of range, trailing bytes. Never reads out of
// bounds. Copies the body out of `bytes`.
std::optional<Entry> decodeEntry(std::string_view bytes);

// The same, taking the bytes: the body is the buffer itself, truncated
// (formats 3 to 6) or with the head moved out of its way (formats 1 and 2), never
// a second allocation of the body's size. Callers that own the bytes (a
// LookupResult's entry) should use this one:
// decodeEntry(std::move(*result.entry)). On nullopt, `bytes` is consumed
// all the same.
std::optional<Entry> decodeOwnedEntry(std::string&& bytes);

// The same, sharing the bytes: the body is a view of them (EntryBody), never
// copied; *bytes must not change (a store's kept copy).
std::optional<Entry> decodeSharedEntry(std::shared_ptr<const std::string> bytes);

// A lookup's bytes, owned or shared, without copying the body either way.
std::optional<Entry> decodeEntryBytes(EntryBytes&& bytes);

// decodeEntry(std::move(a_string)) is decodeOwnedEntry. A template that
// takes only a std::string rvalue, so that a literal or a const string
// still means the string_view overload (no ambiguity for existing callers).
template <typename T>
  requires std::same_as<T, std::string>
std::optional<Entry> decodeEntry(T&& bytes) {
  return decodeOwnedEntry(std::move(bytes));
}

}  // namespace larder::cache
