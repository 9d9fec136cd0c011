#include "harness/pattern.h"

#include <cstring>
#include <string>

namespace larder::test {
namespace {

uint64_t splitmix64(uint64_t k) {
  uint64_t z = k + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace

void PatternSource::fill(char* out, size_t n) {
  // Byte-wise up to a word boundary, then whole words, then the tail.
  while (n > 0 && offset_ % 8 != 0) {
    uint64_t word = splitmix64(offset_ / 8);
    *out++ = reinterpret_cast<const char*>(&word)[offset_ % 8];
    ++offset_;
    --n;
  }
  while (n >= 8) {
    uint64_t word = splitmix64(offset_ / 8);
    std::memcpy(out, &word, 8);
    out += 8;
    offset_ += 8;
    n -= 8;
  }
  while (n > 0) {
    uint64_t word = splitmix64(offset_ / 8);
    *out++ = reinterpret_cast<const char*>(&word)[offset_ % 8];
    ++offset_;
    --n;
  }
}

void Checksum::mix(uint64_t word) {
  hash_ = (hash_ ^ word) * 0x9E3779B97F4A7C15ULL;
  hash_ ^= hash_ >> 29;
}

void Checksum::update(std::string_view data) {
  size_ += data.size();
  const char* p = data.data();
  size_t n = data.size();
  while (n > 0 && pending_len_ != 0) {
    reinterpret_cast<char*>(&pending_)[pending_len_++] = *p++;
    --n;
    if (pending_len_ == 8) {
      mix(pending_);
      pending_ = 0;
      pending_len_ = 0;
    }
  }
  while (n >= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    mix(word);
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    reinterpret_cast<char*>(&pending_)[pending_len_++] = *p++;
    --n;
  }
}

uint64_t Checksum::value() const {
  Checksum copy = *this;
  if (copy.pending_len_ != 0) copy.mix(copy.pending_ ^ (uint64_t{copy.pending_len_} << 56));
  copy.mix(size_);
  return copy.hash_;
}

uint64_t checksumOf(std::string_view data) {
  Checksum sum;
  sum.update(data);
  return sum.value();
}

uint64_t patternChecksum(uint64_t n) {
  PatternSource source;
  Checksum sum;
  std::string buffer(256 * 1024, '\0');
  while (n > 0) {
    size_t take = n < buffer.size() ? static_cast<size_t>(n) : buffer.size();
    source.fill(buffer.data(), take);
    sum.update(std::string_view(buffer.data(), take));
    n -= take;
  }
  return sum.value();
}

}  // namespace larder::test
