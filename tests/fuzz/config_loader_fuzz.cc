// libFuzzer target for config::loadConfigString (STYLE T6). Any input must
// yield a Config or a list of ConfigErrors: no crash, no exception, no hang.
// Seeds: tests/fuzz/corpus/config_loader/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    auto result = larder::config::loadConfigString(yaml, "fuzz.yaml");
    if (result.ok()) {
      // A loaded config must be usable: route matching runs on every request.
      larder::config::Params params;
      (void)(*result)->matchRoute("GET", "/api/products/1", params);
    } else if (result.error().empty()) {
      std::abort();  // a failed load must say why
    }
  } catch (...) {
    std::abort();  // the loader promises not to throw (STYLE E2)
  }
  return 0;
}
