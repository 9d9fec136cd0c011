// Shared arrangement of the upstream_*_test.cc files: real application
// servers as larder meets them in production, started by the test.
//
// UvicornServer runs Debian's python3-uvicorn on a tiny ASGI app written to
// a temp dir. The app answers `METHOD PATH #n` (n counts the requests it
// answered), a DELETE with 204 and no body, a POST with 201, and
// `/status/NNN` with that status. uvicorn closes an idle keep-alive
// connection after --timeout-keep-alive seconds (default 5) without sending
// a Keep-Alive header: the case where larder must notice the close itself.
#pragma once

#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "common/harness_error.h"
#include "common/process.h"
#include "common/temp_dir.h"
#include "harness/gate.h"
#include "harness/ports.h"
#include "harness/redis_server.h"

namespace larder::test {

inline constexpr std::string_view kAsgiApp = R"(
count = 0

async def app(scope, receive, send):
    global count
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    while True:
        message = await receive()
        if not message.get("more_body"):
            break
    count += 1
    method = scope["method"]
    path = scope["path"]
    status = 201 if method == "POST" else 200
    if path.startswith("/status/"):
        status = int(path[len("/status/"):])
    if method == "DELETE" or status == 204:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    body = f"{method} {path} #{count}".encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
)";

class UvicornServer {
 public:
  // keep_alive: uvicorn's --timeout-keep-alive in seconds (nullopt: its
  // default, 5). port: 0 for a free one, or the port of a server that was
  // killed, to bring it back.
  explicit UvicornServer(std::optional<int> keep_alive = std::nullopt, uint16_t port = 0)
      : port_(port != 0 ? port : freePort()) {
    dir_.writeFile("larder_test_app.py", kAsgiApp);
    std::vector<std::string> argv = {"/usr/bin/python3", "-m", "uvicorn", "--app-dir", dir_.path().string(),
                                     "--host", "127.0.0.1", "--port", std::to_string(port_),
                                     "--log-level", "warning", "--no-access-log"};
    if (keep_alive) {
      argv.push_back("--timeout-keep-alive");
      argv.push_back(std::to_string(*keep_alive));
    }
    argv.push_back("larder_test_app:app");
    process_ = std::make_unique<Process>(std::move(argv));
    if (!waitUntil([&] { return acceptsConnections(port_, 200ms) || !process_->isRunning(); }, 15s) ||
        !process_->isRunning()) {
      throw HarnessError("uvicorn did not start (is python3-uvicorn installed?): " + process_->stderrText());
    }
  }

  uint16_t port() const { return port_; }
  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }
  Process& process() { return *process_; }
  // SIGKILL: its connections are reset, new ones refused.
  void kill() { process_->kill(); }

 private:
  TempDir dir_;
  uint16_t port_;
  std::unique_ptr<Process> process_;
};

// One worker in front of a UvicornServer on `upstream_port`, with Redis:
// writes to /api/items/{id} invalidate [items]; with `cached_reads` its
// GETs are cached too. idle_timeout is far above uvicorn's keep-alive, so
// only noticing the server's close can save a request on an idle
// connection. `extra`: more top-level sections (an admin listener).
inline std::string itemsConfig(uint16_t upstream_port, const RedisServer& redis, bool cached_reads,
                               std::string_view extra = {}) {
  return fmt::format(
      "workers: 1\n"
      "upstream:\n"
      "  servers: [127.0.0.1:{}]\n"
      "  idle_timeout: 60s\n"
      "store:\n"
      "  redis: {{ url: \"{}\", timeout: 250ms }}\n"
      "routes:\n"
      "{}"
      "  - match: POST|PUT|PATCH|DELETE /api/items/{{id}}\n"
      "    invalidates: [items]\n"
      "log: {{ level: warn }}\n"
      "{}",
      upstream_port, redis.url(),
      cached_reads ? "  - match: GET /api/items/{id}\n    ttl: 5m\n    namespaces: [items]\n" : "", extra);
}

// Sockets to 127.0.0.1:port in CLOSE-WAIT: the peer closed, and the owner has
// not noticed. Read from /proc/net/tcp (this network namespace; in tests only
// larder connects to the servers the test starts).
inline size_t closeWaitSocketsTo(uint16_t port) {
  std::ifstream in("/proc/net/tcp");
  std::string line;
  std::getline(in, line);  // header
  size_t count = 0;
  const std::string remote = fmt::format("0100007F:{:04X}", port);
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, local, peer, state;
    fields >> slot >> local >> peer >> state;
    if (peer == remote && state == "08") ++count;  // 08: TCP_CLOSE_WAIT
  }
  return count;
}

}  // namespace larder::test
