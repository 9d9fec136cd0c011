// Vary (RFC 9111 §4.1): an upstream answer may depend on request fields the
// route does not key on. Such answers are stored per variant: the extra
// fields join the key. VaryMemo remembers, per resource (its key without the
// extra fields), which fields its upstream varies on, so later lookups go
// straight to their variant in one round trip. The memo is per process and
// learned from answers; a new process learns a resource's Vary from its
// first fetch of it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cache/list_memo.h"
#include "config/config.h"
#include "http/header_map.h"

namespace larder::cache {

// Lower-case names in the answer's Vary that the route does not key on, in
// first-seen order; {"*"} when Vary is "*" (not storable at all).
std::vector<std::string> unkeyedVaryNames(const http::HeaderMap& response_headers,
                                          const config::Route& route);

// The value of a varied request field as keyed (RFC 9111 §4.1). Accept-Encoding
// is reduced to its sorted, de-duplicated codings (q=0 dropped, parameters
// ignored), so "gzip, br" and "br,gzip;q=0.9" share a variant. Accept,
// Accept-Language and Accept-Charset keep their members in order, without
// the optional whitespace and in lower case where values are
// case-insensitive ("en-US, fr;q=0.5" and "en-us,FR; q=0.5" share one).
// Other fields are keyed as sent (field lines joined with ", ").
std::string normalizeVaryValue(std::string_view name, std::string_view value);

// Primary key -> the fields its upstream varies on; empty names forget the
// resource (its upstream stopped varying). Shared by every worker thread,
// behind one mutex (cache/list_memo.h).
using VaryMemo = ListMemo;

}  // namespace larder::cache
