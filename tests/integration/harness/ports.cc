#include "harness/ports.h"

#include "common/reserved_port.h"

namespace larder::test {

uint16_t freePort() { return reservePort(); }

bool acceptsConnections(uint16_t port, Millis timeout) {
  return connectLoopback(port, timeout).isValid();
}

}  // namespace larder::test
