// config/files: the checks every file the configuration names goes through.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "config/files.h"

using namespace larder::config;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char name[] = "/tmp/larder-files-test-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << content;
  }
  ~TempFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("readRegularFile: the whole file within the bound") {
  TempFile file("-----BEGIN CERTIFICATE-----\n");
  std::string out, error;
  CHECK(readRegularFile(file.path, 1024, "CA file", out, error));
  CHECK(out == "-----BEGIN CERTIFICATE-----\n");
}

TEST_CASE("readRegularFile: refuses what is missing, not a regular file, or too large") {
  std::string out, error;
  CHECK_FALSE(readRegularFile("/nonexistent/larder-ca.pem", 1024, "CA file", out, error));
  CHECK(error.find("cannot read \"/nonexistent/larder-ca.pem\"") == 0);
  CHECK_FALSE(readRegularFile("/dev/null", 1024, "CA file", out, error));
  CHECK(error == "\"/dev/null\" is not a regular file");
  CHECK_FALSE(readRegularFile("/tmp", 1024, "CA file", out, error));
  CHECK(error == "\"/tmp\" is not a regular file");
  TempFile big(std::string(1025, 'x'));
  CHECK_FALSE(readRegularFile(big.path, 1024, "CA file", out, error));
  CHECK(error == "\"" + big.path + "\" is too large for a CA file");
  CHECK(out.empty());
}

TEST_CASE("readSecretFile: trailing newlines stripped; empty and oversized refused") {
  std::string out, error;
  TempFile token("s3cret\r\n\n");
  CHECK(readSecretFile(token.path, out, error));
  CHECK(out == "s3cret");
  TempFile inner("two\nlines\n");
  CHECK(readSecretFile(inner.path, out, error));
  CHECK(out == "two\nlines");
  TempFile blank("\n\n");
  CHECK_FALSE(readSecretFile(blank.path, out, error));
  CHECK(error == "\"" + blank.path + "\" is empty");
  TempFile huge(std::string(64 * 1024 + 1, 'k'));
  CHECK_FALSE(readSecretFile(huge.path, out, error));
  CHECK(error == "\"" + huge.path + "\" is too large for a secret");
}
