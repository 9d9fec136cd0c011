// Content codings for stored entries (cache.compression). A body is coded
// and decoded whole: an entry's body is held whole when it is stored or
// served (at most cache.max_object_size, DESIGN invariant 8). gzip is
// libdeflate's, zstd libzstd's; bench/micro/micro_compression.cc measured
// them against zlib (README, "Compressed entries").
//
// Decoding is bounded: it never produces more than `limit` bytes, so a
// compression bomb (a small body that inflates to gigabytes) is refused
// after at most `limit` bytes of work, never expanded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/header_map.h"

namespace larder::cache {

enum class Coding { kIdentity, kGzip, kZstd, kOther };

// The coding a Content-Encoding value names (RFC 9110 §8.4): absent, empty
// or "identity" is kIdentity; "gzip" and "x-gzip" (§8.4.1.3) kGzip; "zstd"
// kZstd (RFC 8878); anything else, several codings included, kOther.
Coding parseCoding(std::string_view content_encoding);
// "gzip", "zstd"; "" for kIdentity and kOther.
std::string_view codingName(Coding coding);

// The body in `coding` (kGzip or kZstd) at `level`; nullopt if the library
// fails (never for valid arguments, but not assumed).
std::optional<std::string> compress(Coding coding, std::string_view body, int level);

enum class DecodeError { kNone, kTooBig, kCorrupt };
std::string_view toString(DecodeError error);  // "none", "too_big", "corrupt"

struct Decoded {
  DecodeError error = DecodeError::kNone;
  std::string body;  // empty unless error is kNone
};

// Decodes a whole body in `coding` (kGzip: one gzip member; kZstd: one or
// more frames). kTooBig once it would pass `limit` bytes; kCorrupt for
// malformed or truncated data, trailing bytes, or another coding.
Decoded decompress(Coding coding, std::string_view data, uint64_t limit);

// Whether the Content-Type `content_type` (parameters ignored, case-
// insensitive) is one of `types` (lower case; "text/*" matches a top-level
// type). A missing type is never compressible.
bool isCompressibleType(std::string_view content_type, const std::vector<std::string>& types);

// Whether the request's Accept-Encoding (RFC 9110 §12.5.3) accepts `coding`
// (a name from codingName): its weight, or else the weight of "*", is above
// zero. Without an Accept-Encoding field only the identity form is sent, as
// nginx and Varnish do: clients that send none (curl without --compressed)
// do not expect coded bodies. "x-gzip" counts as "gzip". A malformed
// weight counts as zero.
bool acceptsCoding(const http::HeaderMap& request_headers, std::string_view coding);

}  // namespace larder::cache
