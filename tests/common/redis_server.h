// RedisServer: a real redis-server on a reserved loopback port (see
// reserved_port.h), without persistence, its files in a private temp dir.
// The one Redis fixture of the suite (STYLE T5): the store unit tests and the
// integration harness both start theirs here. Tests inspect it with
// command(); kill()/restart()/pause()/resume() make Redis fail the ways
// DESIGN invariant 5 talks about. Only the PID started here is signalled, and
// the server dies with the thread that started it (see process.h).
//
// If redis-server is not installed, or does not come up, the constructor
// throws HarnessError with an explanation (the test fails; CI installs it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/process.h"
#include "common/resp_client.h"
#include "common/temp_dir.h"

namespace larder::test {

class RedisServer {
 public:
  // Starts redis-server with extra_args appended and waits until it answers.
  // A "--requirepass P" among extra_args is remembered: command() sends AUTH.
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>/0
  // Runs a command in database 0 on the fixture's own connection
  // (reconnecting if needed). Throws HarnessError if Redis does not answer
  // in time; a Redis error is a reply of type kError.
  RedisReply command(const std::vector<std::string>& args, Millis timeout = 5s);
  // The same in another database, on a fresh connection.
  RedisReply commandIn(int database, const std::vector<std::string>& args, Millis timeout = 5s);
  std::vector<std::string> keys(const std::string& pattern = "*");
  // PTTL in milliseconds: -1 without a TTL, -2 without the key.
  int64_t pttl(const std::string& key);
  // A client is blocked (CLIENT LIST flags=b) on a script (cmd=eval...):
  // a write held by CLIENT PAUSE WRITE, say.
  bool holdsScript();

  // SIGKILL: connections reset, data gone.
  void kill();
  // Starts a fresh server on the same port (after kill()) and waits for it.
  void restart();
  // SIGSTOP / SIGCONT: connections stay open but nothing is answered.
  void pause();
  void resume();
  bool isRunning();
  Process& process() { return *process_; }

 private:
  void start();
  void waitReady(Millis timeout);
  std::unique_ptr<RespClient> connect(Millis timeout) const;

  TempDir dir_;
  std::string binary_;
  uint16_t port_;
  std::vector<std::string> extra_args_;
  std::string password_;  // from --requirepass in extra_args_
  std::unique_ptr<Process> process_;
  std::unique_ptr<RespClient> client_;
};

}  // namespace larder::test
