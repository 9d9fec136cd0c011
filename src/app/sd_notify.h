// systemd notification (sd_notify(3)) over the plain NOTIFY_SOCKET protocol,
// so larder needs no libsystemd. A no-op when NOTIFY_SOCKET is unset.
#pragma once

#include <string_view>

namespace larder::app {

// Sends `state` (e.g. "READY=1"); returns false if it could not be sent.
bool sdNotify(std::string_view state);

}  // namespace larder::app
