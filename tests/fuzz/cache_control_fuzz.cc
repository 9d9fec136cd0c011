// Cache-Control, targeted cache-control fields (RFC 9213) and their
// Structured Field Dictionary syntax (RFC 8941), and HTTP dates: every input
// parses or is refused without crashing, and the parsers agree with each
// other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/cache_control.h"
#include "http/structured_field.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)larder::http::parseCacheControl(input);
  (void)larder::http::parseHttpDate(input);
  const auto dictionary = larder::http::parseStructuredDictionary(input);
  const auto targeted = larder::http::parseTargetedCacheControl(input);
  // A valid targeted field is a valid, non-empty dictionary.
  if (targeted && (!dictionary || dictionary->empty())) std::abort();
  if (dictionary) {
    // Keys are unique after parsing (a repeated key overwrites).
    for (size_t i = 0; i < dictionary->size(); ++i)
      for (size_t j = i + 1; j < dictionary->size(); ++j)
        if ((*dictionary)[i].first == (*dictionary)[j].first) std::abort();
  }
  if (targeted && targeted->max_age && targeted->max_age->count() < 0) std::abort();
  return 0;
}
