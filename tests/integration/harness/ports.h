// Loopback ports for the pieces a test starts.
#pragma once

#include <cstdint>

#include "common/socket_io.h"

namespace larder::test {

// A TCP port on 127.0.0.1 that was free a moment ago and is reserved for this
// test process (see common/reserved_port.h). Nothing listens on it
// afterwards, which also makes it a "server down" address.
uint16_t freePort();

// True if a TCP connection to 127.0.0.1:port is accepted within timeout.
bool acceptsConnections(uint16_t port, Millis timeout = 500ms);

}  // namespace larder::test
