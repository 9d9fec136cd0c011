#include "cache/cache_status.h"

#include <algorithm>

#include <string>

namespace larder::cache {
namespace {

// sf-token (RFC 8941 §3.3.4): ( ALPHA / "*" ) *( tchar / ":" / "/" ).
bool isToken(std::string_view text) {
  if (text.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(text.front()) && text.front() != '*') return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return alpha(c) || (c >= '0' && c <= '9') || c == ':' || c == '/' ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// A token as it is, anything else as an sf-string (printable ASCII, with
// '"' and '\' escaped; other bytes dropped).
void appendTokenOrString(std::string& out, std::string_view text) {
  if (isToken(text)) {
    out += text;
    return;
  }
  out += '"';
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

}  // namespace

std::string_view toString(CacheStatus::Forward fwd) {
  switch (fwd) {
    case CacheStatus::Forward::kNone: return "";
    case CacheStatus::Forward::kUriMiss: return "uri-miss";
    case CacheStatus::Forward::kVaryMiss: return "vary-miss";
    case CacheStatus::Forward::kMiss: return "miss";
    case CacheStatus::Forward::kStale: return "stale";
    case CacheStatus::Forward::kRequest: return "request";
    case CacheStatus::Forward::kBypass: return "bypass";
  }
  return "";
}

std::string formatCacheStatus(std::string_view name, const CacheStatus& status) {
  std::string out;
  out.reserve(64);
  appendTokenOrString(out, name);
  if (status.hit) out += "; hit";
  if (status.fwd != CacheStatus::Forward::kNone) {
    out += "; fwd=";
    out += toString(status.fwd);
  }
  // std::to_string, not fmt::format: this runs on every hit (issue 13).
  if (status.fwd_status) {
    out += "; fwd-status=";
    out += std::to_string(*status.fwd_status);
  }
  if (status.ttl) {
    out += "; ttl=";
    out += std::to_string(*status.ttl);
  }
  if (status.stored) out += "; stored";
  if (status.collapsed) out += "; collapsed";
  if (!status.detail.empty()) {
    out += "; detail=";
    appendTokenOrString(out, status.detail);
  }
  return out;
}

void appendCacheStatus(http::HeaderMap& headers, std::string member) {
  std::string value = headers.joined("Cache-Status");
  if (value.empty()) {
    // The common case (no cache upstream of this one): the member is the
    // value, moved in, not copied.
    headers.set("Cache-Status", std::move(member));
    return;
  }
  value += ", ";
  value += member;
  headers.set("Cache-Status", std::move(value));
}

}  // namespace larder::cache
