// A one-shot barrier: threads wait() until some other thread open()s it.
// Tests order concurrent events with gates, never with sleeps (STYLE T5):
// e.g. the fake upstream holds a response behind a gate until the test has
// done what it needs while the request is in flight.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>

#include "common/socket_io.h"

namespace larder::test {

class Gate {
 public:
  void open();
  bool isOpen() const;
  // True once the gate is open; false if timeout passes first.
  bool wait(Millis timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable cv_;
  bool open_ = false;
};

// Polls predicate every poll_interval until it holds or timeout passes.
// For conditions with no event to wait on (a process exiting, a port closing).
bool waitUntil(const std::function<bool()>& predicate, Millis timeout, Millis poll_interval = 10ms);

}  // namespace larder::test
