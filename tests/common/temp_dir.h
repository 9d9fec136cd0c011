// A private temporary directory, removed with its contents on destruction.
#pragma once

#include <filesystem>
#include <string_view>

namespace larder::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // Writes content to path()/name and returns the full path.
  std::filesystem::path writeFile(std::string_view name, std::string_view content) const;

 private:
  std::filesystem::path path_;
};

// The whole content of a file, or "" if it cannot be read.
std::string readFileText(const std::filesystem::path& path);

}  // namespace larder::test
