// A stored response and its binary encoding. The Store holds opaque bytes
// (STYLE §1), so everything a hit needs travels in the entry: the status,
// reason, storable header fields and body; when it was stored, its TTL and
// the upstream's Age (to compute Age on a hit); the full request identity
// (compared on read, DESIGN invariant 7); and the namespace versions it was
// fetched under (DESIGN invariant 3).
//
// Layout, format version 1. Integers are little-endian; str = u32 length,
// then that many bytes.
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
// Nothing may follow the body. Decoding bytes from a shared store is
// untrusted input: every length is checked before it is used.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/time.h"
#include "http/header_map.h"

namespace larder::cache {

inline constexpr uint8_t kEntryFormatVersion = 1;
inline constexpr uint8_t kCodedEntryFormatVersion = 2;
inline constexpr uint32_t kMaxHeaders = 10000;
inline constexpr uint32_t kMaxVersions = 10000;
// The longest TTL an entry can carry (and the largest initial age); policy
// caps TTLs to it.
inline constexpr std::chrono::milliseconds kMaxEntryTtl = std::chrono::hours(24 * 366 * 10);

struct Entry {
  int status = 200;
  std::string reason;
  http::HeaderMap headers;
  std::string body;
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
};

// Field by field; headers compare in order, names exactly.
bool operator==(const Entry& a, const Entry& b);

// Precondition: the entry fits the layout (status 100..999, times in range,
// at most kMaxHeaders fields and kMaxVersions versions, each string and the
// body under 4 GiB); the caller builds entries from parsed responses, which
// satisfy it. Out-of-range values would fail to decode, never mis-decode.
std::string encodeEntry(const Entry& entry);

// Writes version 1 unless the entry has decoded_length, coded_here or etag_weakened.
// nullopt for anything that is not a complete, well-formed version-1 or 2 entry:
// wrong magic or version, a length past the end, a count over its cap, a
// value out of range, trailing bytes. Never reads out of bounds.
std::optional<Entry> decodeEntry(std::string_view bytes);

}  // namespace larder::cache
