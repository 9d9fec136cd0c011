// YAML → validated Config. yaml-cpp exceptions stop here (STYLE E2) and
// become ConfigErrors naming file, line, column and key path.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "config/config.h"

namespace larder::config {

struct ConfigError {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string message;
  std::string toString() const;  // "FILE:LINE:COL: message"
};

using LoadResult = base::Result<ConfigPtr, std::vector<ConfigError>>;

// Reads and validates a file; every error found is reported, not just the first.
LoadResult loadConfigFile(const std::string& path);
// Same, from text; `name` stands for the file in errors.
LoadResult loadConfigString(const std::string& yaml, const std::string& name);

}  // namespace larder::config
