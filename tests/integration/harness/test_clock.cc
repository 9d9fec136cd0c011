#include "harness/test_clock.h"

#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "common/harness_error.h"

namespace larder::test {
namespace {

std::filesystem::path findLibfaketime() {
  for (const char* dir : {"/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime",
                          "/usr/lib/faketime", "/usr/local/lib/faketime"}) {
    std::filesystem::path candidate = std::filesystem::path(dir) / "libfaketimeMT.so.1";
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return {};
}

}  // namespace

TestClock::TestClock() : file_(dir_.path() / "faketime"), library_(findLibfaketime()) {
  if (library_.empty()) {
    throw HarnessError(
        "libfaketime is not installed (no libfaketimeMT.so.1); the TTL tests move larder's clock with it: "
        "apt-get install libfaketime");
  }
  write();
}

EnvVars TestClock::env() const {
  const char* asan = std::getenv("ASAN_OPTIONS");
  std::string asan_options = asan != nullptr && *asan != '\0' ? std::string(asan) + ":" : std::string();
  asan_options += "verify_asan_link_order=0";
  return {{"LD_PRELOAD", library_.string()},
          {"FAKETIME_TIMESTAMP_FILE", file_.string()},
          {"FAKETIME_NO_CACHE", "1"},
          {"FAKETIME_DONT_FAKE_MONOTONIC", "1"},
          {"ASAN_OPTIONS", asan_options}};
}

void TestClock::advance(std::chrono::milliseconds by) {
  offset_ += by;
  write();
}

void TestClock::write() const {
  // Written whole to a temporary name and renamed, so that a clock call
  // in larder never reads a half-written offset.
  const std::filesystem::path next = file_.string() + ".next";
  {
    std::ofstream out(next, std::ios::trunc);
    out << fmt::format("+{}.{:03}\n", offset_.count() / 1000, offset_.count() % 1000);
    if (!out) throw HarnessError("cannot write " + next.string());
  }
  std::filesystem::rename(next, file_);
}

}  // namespace larder::test
