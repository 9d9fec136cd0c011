#include "common/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "common/harness_error.h"

extern char** environ;

namespace larder::test {
namespace {

int decodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::vector<std::string> mergedEnvironment(const EnvVars& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [n, v] : extra) overridden = overridden || n == name;
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& [n, v] : extra) env.push_back(n + "=" + v);
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

std::optional<uint64_t> residentBytesOf(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return std::nullopt;
}

std::string findExecutable(const std::string& name) {
  if (name.find('/') != std::string::npos) return ::access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return "";
}

Process::Process(std::vector<std::string> argv, EnvVars env) : argv_(std::move(argv)) {
  if (argv_.empty()) throw HarnessError("Process: empty argv");
  std::string path = findExecutable(argv_[0]);
  if (path.empty()) throw HarnessError(fmt::format("cannot execute '{}': not found or not executable", argv_[0]));
  stdout_path_ = dir_.path() / "stdout";
  stderr_path_ = dir_.path() / "stderr";

  // Everything the child needs is prepared before fork: between fork and
  // exec only async-signal-safe calls are allowed (the parent has threads).
  std::vector<std::string> args = argv_;
  std::vector<std::string> env_strings = mergedEnvironment(env);
  std::vector<char*> c_args = pointers(args);
  std::vector<char*> c_env = pointers(env_strings);
  Fd out(::open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Fd err(::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  Fd in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int exec_pipe[2];
  if (!out.isValid() || !err.isValid() || !in.isValid() || ::pipe2(exec_pipe, O_CLOEXEC) != 0) {
    throw HarnessError(fmt::format("cannot set up {}: {}", argv_[0], std::strerror(errno)));
  }
  Fd exec_read(exec_pipe[0]);
  Fd exec_write(exec_pipe[1]);
  pid_t parent = ::getpid();

  pid_ = ::fork();
  if (pid_ < 0) throw HarnessError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in.get(), 0);
    ::dup2(out.get(), 1);
    ::dup2(err.get(), 2);
    // Descriptors opened elsewhere in the test process without O_CLOEXEC
    // must not leak into the child (best effort: needs Linux 5.11).
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    // Signals blocked or ignored by the test runner must not leak into the child.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(path.c_str(), c_args.data(), c_env.data());
    int error = errno;
    ssize_t ignored = ::write(exec_write.get(), &error, sizeof error);
    (void)ignored;
    ::_exit(127);
  }
  exec_write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(exec_read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    waitExit(5s);
    throw HarnessError(fmt::format("cannot execute {}: {}", path, std::strerror(child_errno)));
  }
}

Process::~Process() { kill(); }

bool Process::signal(int sig) {
  if (pid_ <= 0 || exit_status_) return false;
  return ::kill(pid_, sig) == 0;
}

std::optional<int> Process::waitExit(Millis timeout) {
  if (exit_status_) return exit_status_;
  if (pid_ <= 0) return std::nullopt;
  Deadline deadline = deadlineIn(timeout);
  for (;;) {
    int status = 0;
    pid_t rc = ::waitpid(pid_, &status, WNOHANG);
    if (rc == pid_) {
      exit_status_ = decodeStatus(status);
      return exit_status_;
    }
    if (rc < 0 && errno != EINTR) return std::nullopt;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

bool Process::isRunning() { return pid_ > 0 && !waitExit(0ms); }

void Process::kill() {
  if (pid_ <= 0 || exit_status_) return;
  ::kill(pid_, SIGKILL);
  waitExit(10s);
}

std::optional<uint64_t> Process::residentBytes() const {
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  return residentBytesOf(pid_);
}

std::optional<size_t> Process::openFdCount() const {
  if (pid_ <= 0 || exit_status_) return std::nullopt;
  std::error_code error;
  std::filesystem::directory_iterator it(fmt::format("/proc/{}/fd", pid_), error);
  if (error) return std::nullopt;
  size_t count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (error) return std::nullopt;
    ++count;
  }
  return count;
}

std::string Process::stdoutText() const { return readFileText(stdout_path_); }
std::string Process::stderrText() const { return readFileText(stderr_path_); }

}  // namespace larder::test
