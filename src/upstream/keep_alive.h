// How long a pooled upstream connection may stay idle, and which idle
// connection a request may take: pure policy (STYLE: no I/O, no clock).
//
// The race it avoids: a server closes an idle keep-alive connection after
// its own timeout (gunicorn 2 s, uvicorn and Node 5 s, Apache 5 s); a request
// sent on it just then is lost, and whether the server acted on it is
// unknown (RFC 9112 §9.3.1, RFC 9110 §9.2.2). So larder retires a connection
// before the server would, when the server says when (`Keep-Alive:
// timeout=N`), and a request that could not safely be sent again only takes
// a connection that was used a moment ago.
#pragma once

#include <optional>
#include <string_view>

#include "base/time.h"

namespace larder::upstream {

// The parameters of a `Keep-Alive` response field (RFC 2068 §19.7.1.1; still
// sent by Node, Apache and others). Absent or malformed parameters stay unset.
struct KeepAliveHint {
  std::optional<base::Duration> timeout;
  std::optional<unsigned> max;
};

KeepAliveHint parseKeepAlive(std::string_view value);

// Retiring a connection this long before the server's announced timeout
// leaves room for the request's trip and the server's timer granularity.
inline constexpr base::Duration kKeepAliveMargin{1000};

// How long a connection may stay idle in the pool: the configured
// idle_timeout, shortened to the margin before the server's announced
// timeout (to half of it when it is at most twice the margin). Zero: do not
// reuse the connection (`timeout=0` or `max=0`).
base::Duration idleLimit(base::Duration configured, const KeepAliveHint& hint);

// A request that may not be resent (a POST or PATCH, or a body no longer in
// hand) only reuses a connection idle for at most this: far below any
// server's keep-alive timeout, so the server cannot have closed it before
// the request arrives, yet long enough to reuse connections under load.
inline constexpr base::Duration kUnretryableIdleLimit{250};

}  // namespace larder::upstream
