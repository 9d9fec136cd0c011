// Blocking POSIX socket helpers with deadlines, shared by the fake upstream,
// the HTTP client and the RESP client. Every wait is bounded by a Deadline;
// nothing here blocks forever. Sockets are created with SOCK_CLOEXEC so that
// child processes started by the harness never inherit them.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace larder::test {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;
using Millis = std::chrono::milliseconds;

inline Deadline deadlineIn(Millis timeout) { return Clock::now() + timeout; }

// Owns a file descriptor; closes it on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool isValid() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

enum class IoStatus {
  kOk,
  kClosed,     // orderly EOF (or reset) from the peer
  kTimeout,    // the deadline passed
  kError,      // a socket error
  kMalformed,  // the bytes did not follow the protocol
};
const char* toString(IoStatus status);

// Connects to 127.0.0.1:port. Returns an invalid Fd if the connection is
// refused or does not complete before the timeout.
Fd connectLoopback(uint16_t port, Millis timeout);
// Writes all of data, waiting for the socket to drain. False on error or timeout.
bool sendAll(int fd, std::string_view data, Deadline deadline);

using Sink = std::function<void(std::string_view)>;

// Buffered reading from a socket: lines, exact byte counts, until-close.
// Optionally records every byte consumed (the "capture"), e.g. a raw head.
class StreamReader {
 public:
  explicit StreamReader(int fd) : fd_(fd) {}

  // Reads one line ending in LF and returns it without the line end (LF or
  // CRLF). had_cr tells which one it was. kMalformed if longer than max_length.
  IoStatus readLine(std::string& line, Deadline deadline, size_t max_length, bool* had_cr = nullptr);
  // Passes exactly n bytes to sink, piece by piece.
  IoStatus readExact(uint64_t n, Deadline deadline, const Sink& sink);
  // Passes everything to sink until the peer closes (returns kOk then).
  IoStatus readUntilClose(Deadline deadline, const Sink& sink);
  // Waits until at least one byte is buffered (kOk), or the peer closes.
  IoStatus fill(Deadline deadline);

  size_t buffered() const { return buffer_.size() - pos_; }
  // Largest read(2) made at once; a small value makes a slow reader.
  void setReadSize(size_t n) { read_size_ = n; }
  void setCapture(bool on) { capture_on_ = on; }
  std::string takeCapture() { return std::exchange(capture_, std::string()); }
  // Every byte read from the socket is added to this counter too.
  void setByteCounter(std::atomic<uint64_t>* counter) { counter_ = counter; }

 private:
  void consume(size_t n);

  int fd_;
  std::string buffer_;
  size_t pos_ = 0;
  size_t read_size_ = 64 * 1024;
  bool capture_on_ = false;
  std::string capture_;
  std::atomic<uint64_t>* counter_ = nullptr;
};

}  // namespace larder::test
