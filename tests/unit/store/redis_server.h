// RedisServer: a real redis-server for the store tests (STYLE T5), on a free
// local port, without persistence. Owned by the test fixture; the destructor
// resumes (if paused), kills and reaps it by PID.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace larder::store::test {

class RedisServer {
 public:
  // Starts a server and waits until it answers PING. FAILs the test with a
  // clear message when redis-server is not installed or does not come up.
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  // Starts it again on the same port (after kill()).
  void start();
  void kill();
  void pause();   // SIGSTOP: connections stay open, nothing is answered
  void resume();  // SIGCONT

  // Runs one command on a fresh synchronous hiredis connection; returns the
  // reply as text (integers in decimal, arrays joined by '\n', nil as
  // "(nil)", errors prefixed "ERR:").
  // `database` is SELECTed first when nonzero; the server's --requirepass,
  // if any, is sent with AUTH first.
  std::string command(const std::vector<std::string>& args, int database = 0) const;
  std::vector<std::string> keys() const;
  long long pttl(const std::string& key) const;

 private:
  bool answersPing() const;

  std::vector<std::string> extra_args_;
  std::string password_;  // from --requirepass in extra_args_
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool paused_ = false;
};

}  // namespace larder::store::test
