#include "redis_server.h"

#include "common/reserved_port.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <thread>

namespace larder::store::test {

namespace {

std::string findInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

struct ContextDeleter {
  void operator()(redisContext* context) const { redisFree(context); }
};
struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};

std::string describe(const redisReply* reply) {
  switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      return std::string(reply->str, reply->len);
    case REDIS_REPLY_ERROR:
      return "ERR:" + std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER:
      return std::to_string(reply->integer);
    case REDIS_REPLY_NIL:
      return "(nil)";
    case REDIS_REPLY_ARRAY: {
      std::string joined;
      for (size_t i = 0; i < reply->elements; ++i) {
        if (i != 0) joined += '\n';
        joined += describe(reply->element[i]);
      }
      return joined;
    }
  }
  return "?";
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)), port_(larder::test::reservePort()) {
  for (size_t i = 0; i + 1 < extra_args_.size(); ++i) {
    if (extra_args_[i] == "--requirepass") password_ = extra_args_[i + 1];
  }
  start();
}

RedisServer::~RedisServer() { kill(); }

void RedisServer::start() {
  const std::string binary = findInPath("redis-server");
  if (binary.empty())
    FAIL(
        "redis-server is not installed (not found in PATH): the RedisStore tests need a real "
        "Redis; install it (apt-get install redis-server)");
  std::vector<std::string> args = {
      binary,         "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
      "--appendonly", "no",     "--daemonize",         "no"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  pid_ = ::fork();
  REQUIRE(pid_ >= 0);
  if (pid_ == 0) {
    // Dies with the test binary, whatever kills it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      ::dup2(null_fd, STDOUT_FILENO);
      ::dup2(null_fd, STDERR_FILENO);
    }
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  paused_ = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL("redis-server exited at startup (status " << status << ") on port " << port_);
    }
    if (answersPing()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill();
  FAIL("redis-server did not accept connections on port " << port_ << " within 5s");
}

void RedisServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  paused_ = false;
}

void RedisServer::pause() {
  REQUIRE(pid_ > 0);
  ::kill(pid_, SIGSTOP);
  paused_ = true;
}

void RedisServer::resume() {
  if (pid_ > 0 && paused_) ::kill(pid_, SIGCONT);
  paused_ = false;
}

bool RedisServer::answersPing() const {
  timeval timeout{0, 200 * 1000};
  std::unique_ptr<redisContext, ContextDeleter> context(
      redisConnectWithTimeout("127.0.0.1", port_, timeout));
  if (!context || context->err != 0) return false;
  std::unique_ptr<redisReply, ReplyDeleter> reply(
      static_cast<redisReply*>(redisCommand(context.get(), "PING")));
  // Any answer will do (NOAUTH included): the server is up.
  return reply != nullptr;
}

std::string RedisServer::command(const std::vector<std::string>& args, int database) const {
  timeval timeout{2, 0};
  std::unique_ptr<redisContext, ContextDeleter> context(
      redisConnectWithTimeout("127.0.0.1", port_, timeout));
  REQUIRE(context);
  REQUIRE_MESSAGE(context->err == 0, context->errstr);
  if (!password_.empty()) {
    std::unique_ptr<redisReply, ReplyDeleter> reply(
        static_cast<redisReply*>(redisCommand(context.get(), "AUTH %s", password_.c_str())));
    REQUIRE(reply);
  }
  if (database != 0) {
    std::unique_ptr<redisReply, ReplyDeleter> reply(
        static_cast<redisReply*>(redisCommand(context.get(), "SELECT %d", database)));
    REQUIRE(reply);
  }
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  std::unique_ptr<redisReply, ReplyDeleter> reply(static_cast<redisReply*>(
      redisCommandArgv(context.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())));
  REQUIRE(reply);
  return describe(reply.get());
}

std::vector<std::string> RedisServer::keys() const {
  std::vector<std::string> keys;
  std::stringstream lines(command({"KEYS", "*"}));
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty()) keys.push_back(line);
  }
  return keys;
}

long long RedisServer::pttl(const std::string& key) const {
  return std::stoll(command({"PTTL", key}));
}

}  // namespace larder::store::test
