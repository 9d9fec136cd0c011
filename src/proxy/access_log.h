// One access-log line per exchange (issue 15), in the format of
// log.access_format. Both carry an RFC 3339 UTC timestamp, the route name
// and the cache outcome:
//
//   text: 2026-12-06T14:02:34.123Z 10.0.0.7 "GET /p/1 HTTP/1.1" 200 512
//         upstream=0.012 cache=MISS route="GET /p/{id}" time=0.013
//         (one line; ` shadow=would_hit` is appended on shadow routes)
//   json: {"time":"...","client":"10.0.0.7","method":"GET","target":"/p/1",
//          "protocol":"HTTP/1.1","status":200,"bytes":512,"upstream":0.012,
//          "cache":"MISS","route":"GET /p/{id}","duration":0.013}
//         ("upstream": null when nothing went upstream; "shadow" on shadow
//         routes). One object per line (JSON Lines).
// Pure formatting: the caller passes the time, so tests pin it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"

namespace larder::proxy {

struct AccessRecord {
  std::string_view time;     // RFC 3339 (base::rfc3339Now())
  std::string_view client;   // peer IP
  std::string_view method;
  std::string_view target;   // as the client sent it
  int version_minor = 1;
  int status = 0;
  uint64_t bytes = 0;        // body bytes sent
  double upstream_seconds = -1;  // to the upstream's response head; < 0: none
  std::string_view cache;    // the X-Cache value, "-" when not a cacheable route
  std::string_view route;    // the route's name, "-" when none matched
  std::string_view shadow;   // shadow routes: would_hit, would_miss or mismatch; else empty
  double total_seconds = 0;
};

std::string formatAccessLine(const AccessRecord& record, config::LogConfig::AccessFormat format);

}  // namespace larder::proxy
