// libFuzzer target for cache::decodeEntry (STYLE T6). Entry bytes come from a
// shared store, so any input must decode cleanly or fail with nullopt: no
// crash, no over-read. Whatever decodes must survive a round trip unchanged,
// and decoding owned bytes (std::string&&) must agree with decoding a view.
// Seeds: tests/fuzz/corpus/entry_codec/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache/entry_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto entry = larder::cache::decodeEntry(bytes);
  const auto owned = larder::cache::decodeEntry(std::string(bytes));
  if (entry.has_value() != owned.has_value()) std::abort();
  if (!entry) return 0;
  if (!(*owned == *entry)) std::abort();
  const auto layout = larder::cache::layoutOf(bytes);
  if (!layout) std::abort();
  const std::string encoded = larder::cache::encodeEntry(*entry, *layout);
  const auto again = larder::cache::decodeEntry(encoded);
  if (!again || !(*again == *entry)) std::abort();
  // Each layout is canonical: a decodable input is exactly its re-encoding.
  if (encoded != bytes) std::abort();
  return 0;
}
