// RedisServer: a real redis-server on a free loopback port, without
// persistence, its files in a private temp dir. Tests use it as larder's
// store and inspect it with command(). kill()/restart()/pause()/resume()
// make Redis fail the ways DESIGN invariant 5 talks about.
//
// If redis-server is not installed the constructor throws HarnessError with
// an explanation (the test fails; CI installs it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harness/gate.h"
#include "harness/process.h"
#include "harness/resp_client.h"
#include "harness/temp_dir.h"

namespace larder::test {

class RedisServer {
 public:
  // Starts redis-server with extra_args appended and waits for PING.
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>/0
  // Runs a command on the harness's own connection (reconnecting if needed).
  // Throws HarnessError if Redis does not answer in time.
  RedisReply command(const std::vector<std::string>& args, Millis timeout = 5s);
  std::vector<std::string> keys(const std::string& pattern = "*");

  // SIGKILL: connections reset, data gone.
  void kill();
  // Starts a fresh server on the same port (after kill()) and waits for PING.
  void restart();
  // SIGSTOP / SIGCONT: connections stay open but nothing is answered.
  void pause();
  void resume();
  bool isRunning();
  Process& process() { return *process_; }

 private:
  void start();
  void waitReady(Millis timeout);

  TempDir dir_;
  std::string binary_;
  uint16_t port_;
  std::vector<std::string> extra_args_;
  std::unique_ptr<Process> process_;
  std::unique_ptr<RespClient> client_;
};

// larder listens before its Redis connections are ready and bypasses the
// store until then: waits until n client connections (other than this
// harness's own) have finished their handshake (the generation EVAL last).
inline bool waitForRedisClients(RedisServer& redis, size_t n, Millis timeout = 10s) {
  return waitUntil(
      [&] {
        RedisReply list = redis.command({"CLIENT", "LIST"});
        size_t ready = 0;
        size_t at = 0;
        while ((at = list.str.find(" cmd=", at)) != std::string::npos) {
          at += 5;
          std::string_view cmd(list.str.data() + at, list.str.find(' ', at) - at);
          if (cmd != "client|list" && cmd != "NULL" && cmd != "auth" && cmd != "select") ++ready;
        }
        return ready >= n;
      },
      timeout);
}

}  // namespace larder::test
