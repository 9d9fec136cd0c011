// libFuzzer target for cache::decodeEntry (STYLE T6). Entry bytes come from a
// shared store, so any input must decode cleanly or fail with nullopt: no
// crash, no over-read. Whatever decodes must survive a round trip unchanged.
// Seeds: tests/fuzz/corpus/entry_codec/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cache/entry_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto entry = larder::cache::decodeEntry(bytes);
  if (!entry) return 0;
  const std::string encoded = larder::cache::encodeEntry(*entry);
  const auto again = larder::cache::decodeEntry(encoded);
  if (!again || !(*again == *entry)) std::abort();
  // The layout is canonical: a decodable input is exactly its re-encoding.
  if (encoded != bytes) std::abort();
  return 0;
}
