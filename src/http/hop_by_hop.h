// Hop-by-hop fields (RFC 9110 §7.6.1) are meaningful for one connection only
// and are never forwarded or stored.
#pragma once

#include <string_view>

#include "http/header_map.h"

namespace larder::http {

// Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*
// (Proxy-Authorization, Proxy-Authenticate, Proxy-Connection, ...).
bool isHopByHop(std::string_view name);
// Removes the fields above and every field that Connection names.
void removeHopByHop(HeaderMap& headers);

}  // namespace larder::http
