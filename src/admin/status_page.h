// The status page (GET / on the admin listener), in the spirit of HAProxy's
// stats page: hit ratio per route, store and upstream health, recent purges.
//
// One self-contained HTML document, inline CSS and JS, nothing fetched from
// elsewhere (its Content-Security-Policy forbids it). The page holds no data:
// its script polls, every 2 s, what the admin API already serves:
//   GET /metrics         Prometheus text: requests by cache result, overall
//                        and per route (larder_route_requests_total{route,
//                        cache} when the build has it), upstream and Redis
//                        counters;
//   GET /readyz          store and upstream health;
//   GET /status/purges   this instance's recent purges (admin/purge_history.h).
//
// Authentication: the page is open, since it carries nothing. When
// admin.token_file is set, /metrics and /status/purges need the token: the
// page takes it from its URL fragment (http://admin/#token=SECRET; a
// fragment is never sent to the server, so it is not logged) or from its
// token field, keeps it in memory only, and sends it as a Bearer token. Until
// then it shows what /readyz tells and says the token is needed.
//
// Hit ratio: answers served from the cache (hit, stale, revalidated) over
// cache-eligible reads (those plus miss and bypass); "pass" (no cached
// route) is left out. Shown since start and over the last poll interval.
#pragma once

#include <string_view>

namespace larder::admin {

std::string_view statusPageHtml();
// Extra response fields (complete lines): CSP, no caching.
std::string_view statusPageHeaders();

}  // namespace larder::admin
