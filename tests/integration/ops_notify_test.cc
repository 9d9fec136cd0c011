// systemd notification: with NOTIFY_SOCKET set larder sends READY=1 once
// serving, RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 on
// SIGTERM, and WATCHDOG=1 pings when WATCHDOG_USEC asks for them.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <cstring>

#include "common/harness_error.h"
#include "common/temp_dir.h"
#include "harness/proxy_fixture.h"

namespace larder::test {
namespace {

// A unix datagram socket standing in for systemd's notify socket.
class NotifySocket {
 public:
  NotifySocket() : path_(dir_.path() / "notify.sock") {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0)
      throw HarnessError("cannot bind the notify socket");
  }
  ~NotifySocket() { ::close(fd_); }

  std::string path() const { return path_.string(); }

  // The next datagram, or "" on timeout.
  std::string receive(Millis timeout = 5s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return "";
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
  }
  // Skips watchdog pings; the next other message.
  std::string receiveState(Millis timeout = 5s) {
    for (;;) {
      std::string message = receive(timeout);
      if (message != "WATCHDOG=1") return message;
    }
  }

 private:
  TempDir dir_;
  std::filesystem::path path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("NOTIFY_SOCKET receives READY=1, RELOADING=1 and READY=1 on SIGHUP, then STOPPING=1") {
  NotifySocket notify;
  FakeUpstream upstream;
  LarderOptions options;
  options.env = {{"NOTIFY_SOCKET", notify.path()}};
  LarderProcess larder(proxyConfig(upstream.port()), options);
  CHECK(notify.receiveState() == "READY=1");

  REQUIRE(larder.process().signal(SIGHUP));
  std::string reloading = notify.receiveState();
  CHECK(reloading.rfind("RELOADING=1\nMONOTONIC_USEC=", 0) == 0);
  CHECK(notify.receiveState() == "READY=1");

  REQUIRE(larder.terminate());
  CHECK(notify.receiveState() == "STOPPING=1");
  CHECK(larder.waitExit(10s) == 0);
}

TEST_CASE("WATCHDOG_USEC makes larder ping WATCHDOG=1 at half the interval") {
  NotifySocket notify;
  FakeUpstream upstream;
  LarderOptions options;
  options.env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "200000"}};
  LarderProcess larder(proxyConfig(upstream.port()), options);
  int pings = 0;
  auto start = std::chrono::steady_clock::now();
  while (pings < 4 && std::chrono::steady_clock::now() - start < 3s) {
    if (notify.receive(1s) == "WATCHDOG=1") ++pings;
  }
  CHECK(pings >= 4);
  REQUIRE(larder.terminate());
  CHECK(larder.waitExit(10s) == 0);
}

TEST_CASE("WATCHDOG_PID naming another process turns the watchdog off") {
  NotifySocket notify;
  FakeUpstream upstream;
  LarderOptions options;
  options.env = {{"NOTIFY_SOCKET", notify.path()}, {"WATCHDOG_USEC", "100000"}, {"WATCHDOG_PID", "1"}};
  LarderProcess larder(proxyConfig(upstream.port()), options);
  CHECK(notify.receive() == "READY=1");
  CHECK(notify.receive(500ms) == "");
}

}  // namespace larder::test
