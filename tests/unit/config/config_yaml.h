// What the config tests load: the smallest valid file, and loading a YAML
// string with its errors in a readable form.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "config/loader.h"

namespace larder::test {

// An upstream and nothing else: every other key has its default.
inline const std::string kUpstreamYaml = "upstream:\n  servers: [127.0.0.1:8000]\n";

// The configuration `yaml` loads to; fails the test, printing its errors,
// if it does not load.
inline config::ConfigPtr loadOrFail(const std::string& yaml) {
  auto result = config::loadConfigString(yaml, "conf.yaml");
  if (!result.ok()) {
    for (const config::ConfigError& error : result.error()) MESSAGE(error.toString());
  }
  REQUIRE(result.ok());
  return *result;
}

// The errors loading `yaml` gives, one per line; "" if it loads.
inline std::string loadErrors(const std::string& yaml) {
  auto result = config::loadConfigString(yaml, "conf.yaml");
  std::string out;
  if (!result.ok())
    for (const config::ConfigError& error : result.error()) out += error.toString() + "\n";
  return out;
}

}  // namespace larder::test
