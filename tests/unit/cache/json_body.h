// A JSON list of `size` bytes or a little under, compressible as API answers
// are: what the compression tests store.
#pragma once

#include <cstddef>
#include <string>

namespace larder::test {

inline std::string jsonBody(size_t size) {
  std::string out = "{\"items\":[";
  for (int i = 0; out.size() + 64 < size; ++i)
    out += "{\"id\":" + std::to_string(i) + ",\"name\":\"item " + std::to_string(i * 7919 % 1000) + "\"},";
  out += "{}]}";
  return out;
}

}  // namespace larder::test
