// LarderProcess: the real larder binary, started on a generated config.
//
// The caller gives a YAML fragment; the harness adds `listen:` on a free
// loopback port and `admin: { listen: off }` unless the fragment sets them
// (top-level keys at column 0), writes the file into a temp dir, starts
// `larder -c FILE` and waits until the listen port accepts a connection.
// If larder exits or does not listen within the start timeout, the
// constructor throws HarnessError carrying larder's stderr.
//
// The binary is LARDER_BINARY (set by CMake) unless the environment variable
// LARDER_BINARY names another one.
//
// Sanitizer reports fail the test: the destructor stops larder (under a
// sanitizer with SIGTERM first, so that LeakSanitizer runs at exit) and then
// scans its stderr with checkSanitizerReports().
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/process.h"
#include "common/temp_dir.h"

namespace larder::test {

struct LarderOptions {
  std::vector<std::string> extra_args;  // after `-c FILE`
  EnvVars env;
  Millis start_timeout{10000};
  std::string binary;                   // "" = larderBinary()
};

// A config file and the port it listens on.
struct LarderConfig {
  std::string text;
  uint16_t port = 0;
};
// Adds listen/admin to fragment as described above. If fragment sets listen,
// the port is read from it (throws HarnessError if there is none).
LarderConfig buildLarderConfig(std::string_view fragment);

// A fragment for a proxy in front of one upstream: one worker, the given
// upstream timeouts, then extra (more top-level YAML, e.g. timeouts/limits).
std::string proxyConfig(uint16_t upstream_port, std::string_view extra = {},
                        std::string_view response_timeout = "30s", std::string_view connect_timeout = "1s");

class LarderProcess {
 public:
  explicit LarderProcess(std::string_view config_fragment, LarderOptions options = {});
  ~LarderProcess();
  LarderProcess(const LarderProcess&) = delete;
  LarderProcess& operator=(const LarderProcess&) = delete;

  uint16_t port() const { return port_; }
  Process& process() { return *process_; }
  pid_t pid() const { return process_->pid(); }
  const std::filesystem::path& configPath() const { return config_path_; }
  const std::string& configText() const { return config_text_; }
  std::string stderrText() const { return process_->stderrText(); }  // error log
  std::string stdoutText() const { return process_->stdoutText(); }  // access log

  // SIGTERM: graceful shutdown. False if the process has already been reaped.
  bool terminate();
  std::optional<int> waitExit(Millis timeout) { return process_->waitExit(timeout); }
  bool isRunning() { return process_->isRunning(); }

 private:
  // Stops larder (see the top) and fails the current test on a sanitizer report.
  void stopAndCheck();
  void waitListening(Millis timeout);

  TempDir dir_;
  uint16_t port_ = 0;
  std::string config_text_;
  std::filesystem::path config_path_;
  std::unique_ptr<Process> process_;
};

std::string larderBinary();
// The larder under test is a sanitizer build (make test-asan sets
// LARDER_SANITIZED=1): several times slower, so a test whose outcome
// depends on larder keeping up within a short deadline allows it more.
bool larderIsSanitized();

// The first sanitizer report in a process's stderr (AddressSanitizer,
// LeakSanitizer, UndefinedBehaviorSanitizer or ThreadSanitizer), with some
// context; "" if there is none.
std::string findSanitizerReport(std::string_view stderr_text);
// Fails the current test (without throwing) if stderr_text holds a report.
void checkSanitizerReports(std::string_view stderr_text, std::string_view what);

struct CommandResult {
  std::optional<int> exit_code;  // nullopt: killed after the timeout
  std::string stdout_text;
  std::string stderr_text;
  std::string output() const { return stdout_text + stderr_text; }
};

// Runs `larder args...` to completion (SIGKILL after timeout).
CommandResult runLarder(std::vector<std::string> args, Millis timeout = 10s);
// `larder --check-config -c file`.
CommandResult checkConfig(const std::filesystem::path& file, Millis timeout = 10s);

}  // namespace larder::test
