// A child process started by a test: fork/exec with extra environment
// variables, stdin from /dev/null, stdout and stderr to files in a private
// temp dir. The destructor SIGKILLs and reaps it if it still runs. Only the
// PID started here is ever signalled.
//
// The child is also killed if the thread that started it exits (Linux
// PR_SET_PDEATHSIG), so a crashing test leaves no daemons behind: start
// processes from the test's own thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/socket_io.h"
#include "common/temp_dir.h"

namespace larder::test {

using EnvVars = std::vector<std::pair<std::string, std::string>>;

class Process {
 public:
  // argv[0] is a path, or a name looked up in PATH. Throws HarnessError if
  // it cannot be executed.
  explicit Process(std::vector<std::string> argv, EnvVars env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::vector<std::string>& argv() const { return argv_; }
  // Sends sig to the child unless it has been reaped. False if not sent.
  bool signal(int sig);
  // Waits up to timeout for the child to exit. Returns its exit code, or
  // 128 + the signal number if a signal ended it; nullopt if still running.
  std::optional<int> waitExit(Millis timeout);
  bool isRunning();
  // SIGKILL and reap (no-op if already reaped).
  void kill();

  // VmRSS from /proc/<pid>/status; nullopt once it has exited.
  std::optional<uint64_t> residentBytes() const;
  // Entries of /proc/<pid>/fd; nullopt once it has exited.
  std::optional<size_t> openFdCount() const;

  std::string stdoutText() const;
  std::string stderrText() const;
  const std::filesystem::path& stdoutPath() const { return stdout_path_; }
  const std::filesystem::path& stderrPath() const { return stderr_path_; }

 private:
  std::vector<std::string> argv_;
  TempDir dir_;
  std::filesystem::path stdout_path_;
  std::filesystem::path stderr_path_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// VmRSS of pid in bytes, or nullopt if it cannot be read.
std::optional<uint64_t> residentBytesOf(pid_t pid);

// Absolute path of an executable found in PATH, or "" if none.
std::string findExecutable(const std::string& name);

}  // namespace larder::test
