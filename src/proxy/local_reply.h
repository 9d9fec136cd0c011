// Locally generated answers: the one place HTTP statuses for local errors
// are chosen (STYLE E5), each with a short plain-text body.
#pragma once

#include <string>
#include <string_view>

#include "http/parse_error.h"
#include "upstream/upstream_error.h"

namespace larder::proxy {

// upstream connect failure or reset → 502; timeout → 504.
int statusFor(upstream::UpstreamError error);

// A complete response: status line, Content-Type text/plain, Content-Length,
// "Connection: close" when `close`, and `message` + "\n" as the body (none
// for HEAD requests).
std::string buildLocalReply(int status, std::string_view message, bool close, int version_minor,
                            bool head_request = false,
                            std::string_view extra_headers = {});

}  // namespace larder::proxy
