// Which form of an answer is stored, and which form a client gets
// (cache.compression, issue 13).
//
// Stored: an answer in the identity form whose type is listed, of at least
// min_size bytes, not a 206 and without Cache-Control: no-transform (RFC
// 9110 §7.7) is stored compressed: Content-Encoding names the coding,
// `Vary: Accept-Encoding` is added (the form served depends on it), and a
// strong ETag is made weak (RFC 9110 §8.8.3: a strong validator belongs to
// one representation's bytes; the weak one still matches If-None-Match,
// which compares weakly, §13.1.2). The identity form is served with the
// upstream's strong ETag, and revalidation sends the upstream its own tag. An answer the upstream coded in gzip or
// zstd is stored as it came, once decoded to check it stays within
// max_object_size: a bomb or corrupt body is not stored.
//
// Served: the stored bytes to a client whose Accept-Encoding accepts their
// coding; the identity form (decoded, Content-Encoding removed) to the
// others, and to every range request (ranges apply to the identity form).
//
// One entry answers every Accept-Encoding: the key is not split by it for
// entries larder coded (the Vary added here is for caches downstream).
#pragma once

#include <cstdint>
#include <string_view>

#include "cache/compression.h"
#include "cache/entry_codec.h"
#include "config/config.h"

namespace larder::cache {

// The coding an entry's body is in, when larder can decode it.
Coding storedCoding(const Entry& entry);

struct StoreCodingResult {
  bool store = true;
  std::string_view refusal;  // when !store: "coding_too_big" or "coding_corrupt"
  bool compressed = false;   // this call compressed the body
};

// Readies a complete entry for the store (see above), in place. An entry
// already carrying decoded_length is left as it is, but for the ETag and
// Vary of an entry coded here (a 304 may have replaced them).
StoreCodingResult codeForStore(Entry& entry, const config::CacheConfig& cache);

// A coded entry whose identity form is at least this large is decoded while
// it is sent (cache::DecodingStream, one chunk at a time as the client
// drains) instead of whole before the head: a client that does not accept
// the stored coding then costs a chunk of memory, not the identity body.
// Smaller entries are decoded whole first, so a stored body that does not
// decode is a miss (refilled) rather than a cut answer.
inline constexpr uint64_t kDecodeWhileSendingFrom = 256 * 1024;

// The form in which a request gets an entry's body: the one decision.
enum class ServedForm {
  kAsStored,            // the stored bytes: identity, a coding larder cannot
                        // decode, or one the client accepts (and no Range)
  kDecodeWhole,         // the identity form, decoded before the head
  kDecodeWhileSending,  // the identity form, decoded as it is sent: a gzip or
                        // zstd entry asked for whole (ranges apply to the
                        // identity form, so they decode first) whose
                        // decoded_length is at least kDecodeWhileSendingFrom
};
ServedForm servedForm(const Entry& entry, const http::HeaderMap& request_headers);

// The conditional fields that revalidate `stale` with the upstream
// (cache::setValidators), with the ETag as the upstream sent it: an
// upstream that compares If-None-Match byte for byte still answers 304.
void setUpstreamValidators(const Entry& stale, http::HeaderMap& request_headers);

// Removes from `headers` (an entry's, or built from one) the Vary line
// codeForStore added to an entry it coded, so that a renewed entry is
// judged (cache::decideStore) as the upstream's answer was; codeForStore
// adds it again.
void removeAddedVary(const Entry& entry, http::HeaderMap& headers);

// The identity form's fields on a coded entry, in place, its body left
// coded: Content-Encoding removed, Content-Length (if present) the decoded
// length, the ETag strong again if larder weakened it.
void toIdentityFields(Entry& entry);

// Turns `entry` into its identity form, in place: body decoded (at most
// `limit` bytes, and exactly decoded_length), Content-Encoding removed, the
// ETag strong again if larder weakened it, decoded_length cleared. kNone, or why the stored bytes do not decode.
DecodeError toIdentityForm(Entry& entry, uint64_t limit);

}  // namespace larder::cache
