// The harness reports a broken test environment (a process that will not
// start, a port that never opens) by throwing HarnessError from the test's
// thread; doctest turns it into a failure that carries the message.
#pragma once

#include <stdexcept>

namespace larder::test {

class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace larder::test
