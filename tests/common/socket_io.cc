#include "common/socket_io.h"

#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace larder::test {
namespace {

// Milliseconds left until deadline, rounded up, for poll(2).
int pollTimeout(Deadline deadline) {
  auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return 0;
  auto ms = std::chrono::ceil<Millis>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 1000 * 1000));
}

// Waits for events on fd. Returns true if ready, false on timeout.
bool waitFor(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, pollTimeout(deadline));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return true;  // let the following syscall report it
  }
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) reset(std::exchange(other.fd_, -1));
  return *this;
}

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

const char* toString(IoStatus status) {
  switch (status) {
    case IoStatus::kOk: return "ok";
    case IoStatus::kClosed: return "closed by peer";
    case IoStatus::kTimeout: return "timed out";
    case IoStatus::kError: return "socket error";
    case IoStatus::kMalformed: return "malformed";
  }
  return "?";
}

Fd connectLoopback(uint16_t port, Millis timeout) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.isValid()) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  if (rc != 0) {
    if (errno != EINPROGRESS) return {};
    if (!waitFor(fd.get(), POLLOUT, deadlineIn(timeout))) return {};
    int error = 0;
    socklen_t len = sizeof error;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len) != 0 || error != 0) return {};
  }
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool sendAll(int fd, std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!waitFor(fd, POLLOUT, deadline)) return false;
      continue;
    }
    return false;
  }
  return true;
}

IoStatus StreamReader::fill(Deadline deadline) {
  if (buffered() > 0) return IoStatus::kOk;
  buffer_.clear();
  pos_ = 0;
  for (;;) {
    if (!waitFor(fd_, POLLIN, deadline)) return IoStatus::kTimeout;
    buffer_.resize(read_size_);
    ssize_t n = ::recv(fd_, buffer_.data(), read_size_, MSG_DONTWAIT);
    if (n > 0) {
      buffer_.resize(static_cast<size_t>(n));
      if (counter_) counter_->fetch_add(static_cast<uint64_t>(n));
      return IoStatus::kOk;
    }
    buffer_.clear();
    if (n == 0) return IoStatus::kClosed;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    if (errno == ECONNRESET) return IoStatus::kClosed;
    return IoStatus::kError;
  }
}

void StreamReader::consume(size_t n) {
  if (capture_on_) capture_.append(buffer_, pos_, n);
  pos_ += n;
}

IoStatus StreamReader::readLine(std::string& line, Deadline deadline, size_t max_length, bool* had_cr) {
  line.clear();
  for (;;) {
    if (IoStatus st = fill(deadline); st != IoStatus::kOk) return st;
    std::string_view avail(buffer_.data() + pos_, buffered());
    size_t lf = avail.find('\n');
    size_t take = lf == std::string_view::npos ? avail.size() : lf + 1;
    line.append(avail.substr(0, take));
    consume(take);
    if (lf != std::string_view::npos) break;
    if (line.size() > max_length) return IoStatus::kMalformed;
  }
  line.pop_back();
  bool cr = !line.empty() && line.back() == '\r';
  if (cr) line.pop_back();
  if (had_cr) *had_cr = cr;
  return line.size() > max_length ? IoStatus::kMalformed : IoStatus::kOk;
}

IoStatus StreamReader::readExact(uint64_t n, Deadline deadline, const Sink& sink) {
  while (n > 0) {
    if (IoStatus st = fill(deadline); st != IoStatus::kOk) return st;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, buffered()));
    sink(std::string_view(buffer_.data() + pos_, take));
    consume(take);
    n -= take;
  }
  return IoStatus::kOk;
}

IoStatus StreamReader::readUntilClose(Deadline deadline, const Sink& sink) {
  for (;;) {
    IoStatus st = fill(deadline);
    if (st == IoStatus::kClosed) return IoStatus::kOk;
    if (st != IoStatus::kOk) return st;
    size_t take = buffered();
    sink(std::string_view(buffer_.data() + pos_, take));
    consume(take);
  }
}

}  // namespace larder::test
