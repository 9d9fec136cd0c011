#include "http/override_fields.h"

#include <algorithm>
#include <array>

#include "http/header_map.h"

namespace larder::http {
namespace {

constexpr std::array<std::string_view, 31> kDefaultStripped = {
    // Host, scheme and port overrides.
    "Forwarded", "X-Forwarded-Port", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "X-Forwarded-Ssl",
    "X-Forwarded-Server", "Front-End-Https", "X-Url-Scheme", "X-Scheme", "X-Host", "X-Original-Host",
    // Path overrides.
    "X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Forwarded-Path", "X-Original-URL", "X-Original-URI",
    "X-Original-Path", "X-Envoy-Original-Path", "X-Rewrite-URL",
    // Client address overrides (geo, rate limits, "internal" checks).
    "X-Real-IP", "True-Client-IP", "X-Client-IP", "X-Cluster-Client-IP", "CF-Connecting-IP",
    "Fastly-Client-IP", "X-Originating-IP", "X-Remote-IP", "X-Remote-Addr",
    // Method overrides.
    "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
};

}  // namespace

std::span<const std::string_view> defaultStrippedFields() { return kDefaultStripped; }

bool isDefaultStripped(std::string_view name) {
  // Called for every field of every request, and most fields are not listed:
  // the length and first letter reject them before any full comparison.
  if (name.empty()) return false;
  const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  const char first = lower(name.front());
  return std::any_of(kDefaultStripped.begin(), kDefaultStripped.end(), [&](std::string_view listed) {
    return listed.size() == name.size() && lower(listed.front()) == first && equalsIgnoreCase(listed, name);
  });
}

bool hasUnderscore(std::string_view name) { return name.find('_') != std::string_view::npos; }

}  // namespace larder::http
