// How a client's request is rewritten before it goes upstream: hop-by-hop
// fields dropped (RFC 9110 §7.6.1), X-Forwarded-* and Via set, Host kept
// unless the config overrides it, and fields that would act as unkeyed
// overrides of host, path or method dropped unless `route` (null: none
// matched) puts them in its key.
#pragma once

#include <string_view>

#include "config/config.h"
#include "http/message.h"

namespace larder::proxy {

void rewriteForUpstream(http::HeaderMap& headers, int version_minor, std::string_view client_ip,
                        const config::Config& config, const config::Route* route);

}  // namespace larder::proxy
