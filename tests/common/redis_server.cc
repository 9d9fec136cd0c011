#include "common/redis_server.h"

#include <signal.h>

#include <thread>

#include <fmt/format.h>

#include "common/harness_error.h"
#include "common/reserved_port.h"

namespace larder::test {

RedisServer::RedisServer(std::vector<std::string> extra_args)
    : binary_(findExecutable("redis-server")), port_(reservePort()), extra_args_(std::move(extra_args)) {
  if (binary_.empty()) {
    throw HarnessError(
        "redis-server is not installed (not found in PATH); the tests need a real Redis: "
        "apt-get install redis-server");
  }
  for (size_t i = 0; i + 1 < extra_args_.size(); ++i) {
    if (extra_args_[i] == "--requirepass") password_ = extra_args_[i + 1];
  }
  start();
}

RedisServer::~RedisServer() {
  client_.reset();
  if (process_) process_->kill();
}

std::string RedisServer::url() const { return fmt::format("redis://127.0.0.1:{}/0", port_); }

void RedisServer::start() {
  std::vector<std::string> argv = {
      binary_,  "--port",       std::to_string(port_), "--bind",      "127.0.0.1",          "--save",
      "",       "--appendonly", "no",                  "--dir",       dir_.path().string(), "--daemonize",
      "no",     "--protected-mode", "no"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  client_.reset();
  process_ = std::make_unique<Process>(argv);
  waitReady(10s);
}

void RedisServer::waitReady(Millis timeout) {
  Deadline deadline = deadlineIn(timeout);
  std::string last_error;
  while (Clock::now() < deadline) {
    if (auto status = process_->waitExit(0ms)) {
      throw HarnessError(fmt::format("redis-server on port {} exited with status {} before answering PING:\n{}{}",
                                     port_, *status, process_->stdoutText(), process_->stderrText()));
    }
    try {
      RespClient probe(port_, 200ms);
      // Any answer will do (NOAUTH included): the server is up.
      probe.command({"PING"}, 1s);
      return;
    } catch (const HarnessError& e) {
      last_error = e.what();
    }
    std::this_thread::sleep_for(20ms);
  }
  throw HarnessError(fmt::format("redis-server on port {} did not answer PING within {} ms ({}):\n{}", port_,
                                 timeout.count(), last_error, process_->stdoutText()));
}

std::unique_ptr<RespClient> RedisServer::connect(Millis timeout) const {
  auto client = std::make_unique<RespClient>(port_, timeout);
  if (!password_.empty()) {
    RedisReply auth = client->command({"AUTH", password_}, timeout);
    if (!auth.isStatus("OK")) throw HarnessError("redis AUTH failed: " + auth.toString());
  }
  return client;
}

RedisReply RedisServer::command(const std::vector<std::string>& args, Millis timeout) {
  try {
    if (!client_) client_ = connect(timeout);
    return client_->command(args, timeout);
  } catch (const HarnessError&) {
    client_.reset();
    throw;
  }
}

RedisReply RedisServer::commandIn(int database, const std::vector<std::string>& args, Millis timeout) {
  std::unique_ptr<RespClient> client = connect(timeout);
  RedisReply select = client->command({"SELECT", std::to_string(database)}, timeout);
  if (!select.isStatus("OK")) throw HarnessError("redis SELECT failed: " + select.toString());
  return client->command(args, timeout);
}

std::vector<std::string> RedisServer::keys(const std::string& pattern) {
  RedisReply reply = command({"KEYS", pattern});
  if (reply.type != RedisReply::Type::kArray) throw HarnessError("KEYS: unexpected reply " + reply.toString());
  std::vector<std::string> out;
  for (const auto& element : reply.elements) out.push_back(element.str);
  return out;
}

int64_t RedisServer::pttl(const std::string& key) {
  RedisReply reply = command({"PTTL", key});
  if (reply.type != RedisReply::Type::kInteger) throw HarnessError("PTTL: unexpected reply " + reply.toString());
  return reply.integer;
}

bool RedisServer::holdsScript() {
  const std::string list = command({"CLIENT", "LIST"}).str;
  size_t at = 0;
  while ((at = list.find("flags=b ", at)) != std::string::npos) {
    const size_t line_end = list.find('\n', at);
    const size_t cmd = list.find(" cmd=eval", at);
    if (cmd != std::string::npos && cmd < line_end) return true;
    at = line_end;
  }
  return false;
}

void RedisServer::kill() {
  client_.reset();
  process_->kill();
}

void RedisServer::restart() {
  kill();
  start();
}

void RedisServer::pause() { process_->signal(SIGSTOP); }

void RedisServer::resume() { process_->signal(SIGCONT); }

bool RedisServer::isRunning() { return process_ && process_->isRunning(); }

}  // namespace larder::test
