// Byte ranges (RFC 9110 §14): serving parts of a complete stored
// representation. Pure functions.
//
// What larder does with them: a hit for a request with Range gets 206 (one
// range, or multipart/byteranges for several) or 416; a Range that is not
// understood, is malformed, asks for too many pieces, or fails its If-Range
// gets the whole answer (200), as §14.2 allows. A miss fetches the whole
// answer (the Range is not forwarded, so the fill is shareable and
// storable) and answers it whole; the next request gets its range from the
// entry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/header_map.h"

namespace larder::http {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t size() const { return last - first + 1; }
};

struct RangeRequest {
  enum class Kind {
    kWhole,          // no usable Range: answer 200 with the whole body
    kPartial,        // answer 206 with `ranges`
    kUnsatisfiable,  // answer 416 with Content-Range: bytes */length
  };
  Kind kind = Kind::kWhole;
  std::vector<ByteRange> ranges;  // ascending, non-overlapping (coalesced)
};

// More ranges than this are answered whole: many small ranges are a known
// amplification attack (RFC 9110 §17.15).
inline constexpr size_t kMaxRanges = 16;

// Evaluates the request's Range (and If-Range, §13.1.5) against a stored
// representation of `length` bytes with the given response fields.
RangeRequest evaluateRange(const HeaderMap& request_headers, const HeaderMap& response_headers,
                           uint64_t length);

// Applies the request's Range to a complete answer: returns the status to
// send (206, 416, or `status` unchanged) and rewrites `headers` and `body`
// to match. Only a 200 is ranged. `boundary` separates the parts of a
// multipart answer and must not occur in `body` (a random token will do).
int applyRange(const HeaderMap& request_headers, int status, HeaderMap& headers, std::string& body,
               std::string_view boundary);

// "bytes FIRST-LAST/LENGTH"
std::string contentRange(const ByteRange& range, uint64_t length);

// The multipart/byteranges body (§14.6) for `ranges` of `body`, each part
// labelled with `content_type` (omitted when empty).
std::string multipartByteranges(std::string_view body, const std::vector<ByteRange>& ranges,
                                std::string_view content_type, std::string_view boundary);

}  // namespace larder::http
