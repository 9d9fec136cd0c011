// libFuzzer target for store::decodeInvalidationMessage (STYLE T6). Messages
// arrive from a shared Redis channel, so any input must decode cleanly or
// fail with nullopt; whatever decodes must re-encode to exactly the input.
// Seeds: tests/fuzz/corpus/invalidation_message/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "store/redis/invalidation_channel.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const auto keys = larder::store::decodeInvalidationMessage(message);
  if (!keys) return 0;
  if (keys->size() > larder::store::kMaxInvalidationKeys) std::abort();
  if (larder::store::encodeInvalidationMessage(*keys) != message) std::abort();
  return 0;
}
