#include "store/redis/entry_sizes.h"

#include <bit>

namespace larder::store {

EntrySizes::EntrySizes(uint64_t start) : unknown_(start), slots_(kSlots, 0) {}

uint64_t EntrySizes::expected(uint64_t key_hash) const {
  const uint8_t width = slots_[key_hash & (kSlots - 1)];
  return width == 0 ? unknown_ : uint64_t{1} << (width - 1);
}

void EntrySizes::record(uint64_t key_hash, uint64_t bytes) {
  uint8_t& slot = slots_[key_hash & (kSlots - 1)];
  if (bytes == 0) {
    slot = 0;
    return;
  }
  // The power of two at or above the size: 1 KiB + 1 is expected as 2 KiB.
  slot = static_cast<uint8_t>(std::bit_width(bytes - 1) + 1);
  unknown_ = bytes >= unknown_ ? bytes : unknown_ - (unknown_ - bytes) / 64;
}

}  // namespace larder::store
