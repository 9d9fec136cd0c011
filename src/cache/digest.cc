#include "cache/digest.h"

#include "base/hex.h"

namespace larder::cache {

namespace {

constexpr uint64_t kC1 = 0x87c37b91114253d5ull;
constexpr uint64_t kC2 = 0x4cf5ad432745937full;

constexpr uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

constexpr uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}

// The reference reads blocks as native uint64_t on little-endian machines;
// assembling bytes explicitly gives the same digest on every host.
uint64_t loadLittleEndian(const unsigned char* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

}  // namespace

Digest128 murmur3x64_128(std::string_view data, uint32_t seed) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const size_t len = data.size();
  const size_t blocks = len / 16;
  uint64_t h1 = seed;
  uint64_t h2 = seed;

  for (size_t i = 0; i < blocks; ++i) {
    uint64_t k1 = loadLittleEndian(bytes + i * 16, 8);
    uint64_t k2 = loadLittleEndian(bytes + i * 16 + 8, 8);
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
    h1 = rotl(h1, 27);
    h1 += h2;
    h1 = h1 * 5 + 0x52dce729;
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
    h2 = rotl(h2, 31);
    h2 += h1;
    h2 = h2 * 5 + 0x38495ab5;
  }

  // Tail: up to 15 bytes; bytes 0-7 feed k1, bytes 8-14 feed k2.
  const unsigned char* tail = bytes + blocks * 16;
  const size_t rest = len & 15;
  if (rest > 8) {
    uint64_t k2 = loadLittleEndian(tail + 8, rest - 8);
    k2 *= kC2;
    k2 = rotl(k2, 33);
    k2 *= kC1;
    h2 ^= k2;
  }
  if (rest > 0) {
    uint64_t k1 = loadLittleEndian(tail, rest > 8 ? 8 : rest);
    k1 *= kC1;
    k1 = rotl(k1, 31);
    k1 *= kC2;
    h1 ^= k1;
  }

  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h1 += h2;
  h2 += h1;
  return Digest128{h1, h2};
}

void appendDigestHex(std::string& out, std::string_view data) {
  const Digest128 d = murmur3x64_128(data, 0);
  const size_t at = out.size();
  out.resize(at + 32);
  char* hex = out.data() + at;
  for (int i = 0; i < 16; ++i) {
    hex[15 - i] = base::kLowerHexDigits[(d.h1 >> (4 * i)) & 0xf];
    hex[31 - i] = base::kLowerHexDigits[(d.h2 >> (4 * i)) & 0xf];
  }
}

std::string digestHex(std::string_view data) {
  std::string out;
  appendDigestHex(out, data);
  return out;
}

}  // namespace larder::cache
