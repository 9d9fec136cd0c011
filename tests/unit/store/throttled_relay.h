// ThrottledRelay: a TCP relay between the store and a real redis-server that
// makes Redis look slow but alive (issue 13): requests pass at once, replies
// come back at most `chunk` bytes every `interval`, or not at all while
// frozen. It runs on its own thread, so the store's loop is the only loop
// in the test. The destructor stops the thread and closes every socket.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>

namespace larder::store::test {

class ThrottledRelay {
 public:
  // Relays connections accepted on port() to 127.0.0.1:`target_port`.
  explicit ThrottledRelay(uint16_t target_port);
  ~ThrottledRelay();
  ThrottledRelay(const ThrottledRelay&) = delete;
  ThrottledRelay& operator=(const ThrottledRelay&) = delete;

  uint16_t port() const { return port_; }
  // 0 bytes: unlimited (the default).
  void throttle(size_t chunk, std::chrono::milliseconds interval) {
    interval_ms_ = interval.count();
    chunk_ = chunk;
  }
  void unthrottle() { chunk_ = 0; }
  // Holds every reply byte (a black hole on the way back) until thawed.
  void freeze(bool frozen) { frozen_ = frozen; }
  // Reply bytes passed to the store so far.
  uint64_t bytesRelayed() const { return relayed_; }

 private:
  void run();

  int listener_ = -1;
  uint16_t target_port_;
  uint16_t port_ = 0;
  std::atomic<size_t> chunk_{0};
  std::atomic<int64_t> interval_ms_{10};
  std::atomic<bool> frozen_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> relayed_{0};
  std::thread thread_;
};

}  // namespace larder::store::test
