// A loopback TCP port for the pool tests' listeners, reserved against the
// other test processes (see tests/common/reserved_port.h).
#pragma once

#include <cstdint>

#include "common/reserved_port.h"

namespace larder::upstream {

inline uint16_t freeLoopbackPort() { return test::reservePort(); }

}  // namespace larder::upstream
