// Request fields that frameworks and proxies read as the request's host,
// scheme, port, path, client address or method, but that larder does not
// key on (web cache poisoning through unkeyed inputs). By default they never
// reach the upstream; a route that names one in `vary` keys on it, and
// forwards it (DESIGN invariant 11). Operators extend or shorten the list
// with `request_headers.strip` / `request_headers.forward`.
#pragma once

#include <span>
#include <string_view>

namespace larder::http {

// The documented default list (README "Security"). X-Forwarded-For is
// appended to and X-Forwarded-Proto/-Host are overwritten instead.
std::span<const std::string_view> defaultStrippedFields();
bool isDefaultStripped(std::string_view name);

// Field names with '_': many frameworks (CGI/WSGI/Rack environments, PHP)
// map '_' and '-' to the same name, so "X_Forwarded_Host" or
// "Transfer_Encoding" would slip past every check made on the '-' spelling.
// Dropped, as nginx does (underscores_in_headers off).
bool hasUnderscore(std::string_view name);

}  // namespace larder::http
