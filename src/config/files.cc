#include "config/files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace larder::config {

namespace {

constexpr uint64_t kMaxSecretFileSize = 64 * 1024;

}  // namespace

bool readRegularFile(const std::string& path, uint64_t max_size, std::string_view what, std::string& out,
                     std::string& error) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(info.st_mode)) {
    error = "\"" + path + "\" is not a regular file";
    return false;
  }
  if (static_cast<uint64_t>(info.st_size) > max_size) {
    error = "\"" + path + "\" is too large for a " + std::string(what);
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  // Read at most one byte past the bound: the file may have grown since stat.
  std::string text(static_cast<size_t>(max_size) + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > max_size) {
    error = "\"" + path + "\" is too large for a " + std::string(what);
    return false;
  }
  out = std::move(text);
  return true;
}

bool readSecretFile(const std::string& path, std::string& out, std::string& error) {
  std::string text;
  if (!readRegularFile(path, kMaxSecretFileSize, "secret", text, error)) return false;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) {
    error = "\"" + path + "\" is empty";
    return false;
  }
  out = std::move(text);
  return true;
}

}  // namespace larder::config
