// CapturedLog: sends larder's error log (base/log.h) to a scratch file for
// its lifetime, so a unit test can read what was logged. One at a time: the
// error log is process-wide.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "base/log.h"

namespace larder::test {

struct CapturedLog {
  std::filesystem::path path;

  CapturedLog() {
    std::string name = (std::filesystem::temp_directory_path() / "larder-log-test-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    REQUIRE(base::Log::setErrorLogPath(path.string()));
  }
  ~CapturedLog() {
    base::Log::setErrorLogPath("");
    std::filesystem::remove(path);
  }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;

  std::string text() const {
    std::ifstream in(path);
    std::stringstream out;
    out << in.rdbuf();
    return out.str();
  }
  // The lines that contain every one of `parts`.
  size_t countLines(std::initializer_list<std::string_view> parts) const {
    std::istringstream in(text());
    size_t n = 0;
    for (std::string line; std::getline(in, line);) {
      bool all = true;
      for (std::string_view part : parts) all = all && line.find(part) != std::string::npos;
      n += all ? 1 : 0;
    }
    return n;
  }
};

}  // namespace larder::test
