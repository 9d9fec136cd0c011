// What every format of a stored entry (cache/entry_codec.h) checks its
// fields against, and the flags byte formats 2 to 6 share. Internal to the
// codec: entry_codec.cc and compact_fields.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "cache/entry_codec.h"

namespace larder::cache::entry_fields {

// 2200-01-01T00:00:00Z. A nanosecond system_clock ends in 2262, so stored_at
// plus a TTL of up to ten years never overflows it.
inline constexpr int64_t kMaxStoredAtMs = 7258118400000;
inline constexpr int64_t kMaxTtlMs = kMaxEntryTtl.count();
inline constexpr int64_t kMaxAgeSeconds = std::chrono::duration_cast<std::chrono::seconds>(kMaxEntryTtl).count();

inline constexpr uint8_t kFlagDecodedLength = 1;
inline constexpr uint8_t kFlagCodedHere = 2;
inline constexpr uint8_t kFlagEtagWeakened = 4;
inline constexpr uint8_t kKnownFlags = kFlagDecodedLength | kFlagCodedHere | kFlagEtagWeakened;

inline uint8_t flagsOf(const Entry& entry) {
  return static_cast<uint8_t>((entry.decoded_length ? kFlagDecodedLength : 0) |
                              (entry.coded_here ? kFlagCodedHere : 0) |
                              (entry.etag_weakened ? kFlagEtagWeakened : 0));
}

// Room for the fields a hit adds to the stored ones before it is sent
// (Age, Content-Length, X-Cache, Cache-Status, Connection: proxy/exchange_cache.cc),
// so that adding them moves no field (a reallocation of the vector per hit).
inline constexpr size_t kServedFieldsHeadroom = 6;

}  // namespace larder::cache::entry_fields
