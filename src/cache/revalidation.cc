#include "cache/revalidation.h"

#include <algorithm>

#include "cache/policy.h"
#include "http/cache_control.h"
#include "http/hop_by_hop.h"

namespace larder::cache {
namespace {

using std::chrono::milliseconds;

// An expired entry with validators is kept for revalidation about as long
// as it was fresh, within these bounds.
constexpr milliseconds kMinRevalidationRetention = std::chrono::seconds(10);
constexpr milliseconds kMaxRevalidationRetention = std::chrono::hours(1);

milliseconds pick(const std::optional<std::chrono::seconds>& upstream,
                  const std::optional<base::Duration>& route, base::Duration global) {
  if (upstream) return std::chrono::duration_cast<milliseconds>(*upstream);
  if (route) return std::chrono::duration_cast<milliseconds>(*route);
  return std::chrono::duration_cast<milliseconds>(global);
}


// Weak comparison (RFC 9110 §8.8.3.2): "W/" prefixes do not matter.
std::string_view opaqueTag(std::string_view tag) {
  tag = http::trimOws(tag);
  if (tag.size() >= 2 && (tag[0] == 'W' || tag[0] == 'w') && tag[1] == '/') tag.remove_prefix(2);
  return tag;
}

bool etagListMatches(std::string_view list, std::string_view etag) {
  if (http::trimOws(list) == "*") return true;
  std::string_view wanted = opaqueTag(etag);
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string_view item = list.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                               : comma - start);
    if (!http::trimOws(item).empty() && opaqueTag(item) == wanted) return true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return false;
}

}  // namespace

StaleWindows staleWindows(const http::HeaderMap& stored_headers, const config::Route& route,
                          const config::CacheConfig& cache) {
  const http::CacheControl cc = responseControl(stored_headers, cache.targeted_cache_control).cc;
  if (cc.must_revalidate || cc.proxy_revalidate || cc.no_cache) return {};
  return {pick(cc.stale_while_revalidate, route.stale_while_revalidate, cache.stale_while_revalidate),
          pick(cc.stale_if_error, route.stale_if_error, cache.stale_if_error)};
}

milliseconds retention(const http::HeaderMap& stored_headers, milliseconds ttl,
                       const config::Route& route, const config::CacheConfig& cache) {
  StaleWindows windows = staleWindows(stored_headers, route, cache);
  milliseconds keep = std::max(windows.while_revalidate, windows.if_error);
  if (hasValidators(stored_headers))
    keep = std::max(keep, std::clamp(ttl, kMinRevalidationRetention, kMaxRevalidationRetention));
  return keep;
}

milliseconds staleness(const Entry& entry, base::WallTime now) {
  return std::chrono::duration_cast<milliseconds>(now - (entry.stored_at + entry.ttl));
}

bool hasValidators(const http::HeaderMap& stored_headers) {
  return stored_headers.has("ETag") || stored_headers.has("Last-Modified");
}

void setValidators(const http::HeaderMap& stored_headers, http::HeaderMap& request_headers) {
  for (std::string_view field : {"If-None-Match", "If-Modified-Since", "If-Match",
                                 "If-Unmodified-Since", "If-Range"})
    request_headers.remove(field);
  if (const std::string* etag = stored_headers.find("ETag"))
    request_headers.add("If-None-Match", *etag);
  if (const std::string* modified = stored_headers.find("Last-Modified"))
    request_headers.add("If-Modified-Since", *modified);
}

void mergeNotModified(http::HeaderMap& stored_headers, const http::HeaderMap& not_modified) {
  http::HeaderMap updates = not_modified;
  http::removeHopByHop(updates);
  for (std::string_view framing : {"Content-Length", "Content-Encoding", "Content-Range"})
    updates.remove(framing);
  // Replace each named field as a whole: remove every stored instance first.
  for (const auto& field : updates) stored_headers.remove(field.name);
  for (const auto& field : updates) stored_headers.add(field.name, field.value);
}

bool clientHasCurrent(const http::HeaderMap& request_headers, const http::HeaderMap& stored_headers) {
  if (request_headers.has("If-None-Match")) {
    const std::string* etag = stored_headers.find("ETag");
    return etag != nullptr && etagListMatches(request_headers.joined("If-None-Match"), *etag);
  }
  const std::string* since = request_headers.find("If-Modified-Since");
  if (since == nullptr) return false;  // most requests: the stored fields are not searched
  const std::string* modified = stored_headers.find("Last-Modified");
  if (modified == nullptr) return false;
  auto since_time = http::parseHttpDate(*since);
  auto modified_time = http::parseHttpDate(*modified);
  return since_time && modified_time && *modified_time <= *since_time;
}

http::HeaderMap notModifiedHeaders(const http::HeaderMap& stored_headers) {
  http::HeaderMap out;
  for (const auto& field : stored_headers) {
    for (std::string_view keep : {"Cache-Control", "Content-Location", "Date", "ETag", "Expires",
                                  "Last-Modified", "Vary"}) {
      if (http::equalsIgnoreCase(field.name, keep)) {
        out.add(field.name, field.value);
        break;
      }
    }
  }
  return out;
}

}  // namespace larder::cache
