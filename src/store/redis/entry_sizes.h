// EntrySizes: what a worker expects an entry's bytes to weigh before it
// reads them, so that reads of large entries go to Redis a few at a time
// (issue 13). Redis builds a pipeline's replies before it sends them: 16
// pipelined GETs of 1 MiB entries took 24-35 ms to a first byte here, 32
// took 89 ms, so a burst of reads of large entries the worker had not read
// yet made every connection silent past the timeout, and the breaker
// opened. A connection's own estimate (RedisConnection) only learns from
// replies, after such a burst is sent.
//
// Per key: the size of its last read, as a power of two, in a direct-mapped
// table (keys sharing a slot overwrite each other; a wrong guess costs
// some pipelining, or lets a read through unbounded as before). For a key
// not in it: the largest entry read lately, starting cautious (`start`: a
// worker that has read nothing yet expects large entries), raised at once
// by a larger read and lowered by 1/64 of the difference by a smaller one.
//
// Threading: loop-local (one per RedisStore).
#pragma once

#include <cstdint>
#include <vector>

namespace larder::store {

class EntrySizes {
 public:
  explicit EntrySizes(uint64_t start);

  // The reply size to expect for a read of the key's entry.
  uint64_t expected(uint64_t key_hash) const;
  // A read of the key found `bytes` of entry (nullopt-like 0: none; the
  // key may be filled with any size, so it is forgotten).
  void record(uint64_t key_hash, uint64_t bytes);

  uint64_t unknownForTest() const { return unknown_; }

 private:
  static constexpr uint64_t kSlots = uint64_t{1} << 16;  // 64 KiB per worker

  uint64_t unknown_;
  std::vector<uint8_t> slots_;  // bit width of the last size, rounded up; 0: none
};

}  // namespace larder::store
