// Large bodies without large buffers: PatternSource generates a deterministic,
// non-repeating byte stream (byte i is byte i%8 of splitmix64(i/8)), and
// Checksum hashes a stream in order, whatever pieces it arrives in. A test
// compares the checksum of what arrived with patternChecksum(n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace larder::test {

class PatternSource {
 public:
  explicit PatternSource(uint64_t offset = 0) : offset_(offset) {}
  // Writes the next n bytes of the pattern to out.
  void fill(char* out, size_t n);
  uint64_t offset() const { return offset_; }

 private:
  uint64_t offset_;
};

// An order-sensitive 64-bit hash of a byte stream; splitting the stream
// differently gives the same value.
class Checksum {
 public:
  void update(std::string_view data);
  uint64_t value() const;
  uint64_t size() const { return size_; }

 private:
  void mix(uint64_t word);

  uint64_t hash_ = 0xcbf29ce484222325ULL;
  uint64_t pending_ = 0;
  unsigned pending_len_ = 0;
  uint64_t size_ = 0;
};

uint64_t checksumOf(std::string_view data);
// The checksum of the first n bytes of the pattern.
uint64_t patternChecksum(uint64_t n);

}  // namespace larder::test
