// A 128-bit non-cryptographic digest for cache keys: MurmurHash3 x64_128
// (Austin Appleby's public-domain algorithm), seed 0, rewritten here from the
// algorithm. It only spreads keys over the store; it is not a security
// boundary: an entry stores its full identity and a reader compares it, so a
// collision (accidental or crafted) is a miss, never a wrong answer (DESIGN
// invariant 7).
//
// Text form: 32 lower-case hex digits, h1 then h2, each 64-bit half written
// most significant digit first ("%016llx%016llx" of the reference output).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace larder::cache {

struct Digest128 {
  uint64_t h1 = 0;
  uint64_t h2 = 0;
  friend bool operator==(const Digest128&, const Digest128&) = default;
};

// MurmurHash3_x64_128 of `data` with `seed`. Independent of host byte order.
Digest128 murmur3x64_128(std::string_view data, uint32_t seed = 0);

// The text form above of murmur3x64_128(data, 0).
std::string digestHex(std::string_view data);
// The same 32 digits appended to `out` (no string of their own: an entry
// key is built with one allocation, issue 13).
void appendDigestHex(std::string& out, std::string_view data);

}  // namespace larder::cache
