#include "admin/purge.h"

#include "base/hex.h"
#include "cache/key.h"
#include "cache/soft_purge.h"
#include "http/target.h"

namespace larder::admin {
namespace {

using base::hexValue;

bool hasControlBytes(std::string_view text) {
  for (unsigned char c : text)
    if (c < 0x20 || c == 0x7f) return true;
  return false;
}

}  // namespace

std::optional<std::string> percentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    int high = i + 1 < text.size() ? hexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? hexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

std::optional<PurgeRequest> namespacePurge(std::string_view encoded_name, std::string& error) {
  auto name = percentDecode(encoded_name);
  if (!name) {
    error = "bad %-escape in the namespace name";
    return std::nullopt;
  }
  if (name->empty()) {
    error = "the namespace name is empty";
    return std::nullopt;
  }
  if (hasControlBytes(*name)) {
    error = "the namespace name has control characters";
    return std::nullopt;
  }
  PurgeRequest purge;
  purge.scope = base::metrics::PurgeScope::kNamespace;
  purge.subject = *name;
  purge.ns = *name;
  return purge;
}

std::optional<PurgeRequest> urlPurge(std::string_view url, std::string& error) {
  if (url.empty()) {
    error = "missing url parameter (POST /purge?url=http://host/path)";
    return std::nullopt;
  }
  auto target = http::parseTarget(url);
  if (!target || target->authority.empty()) {
    error = "url must be an absolute http:// or https:// URL with a host";
    return std::nullopt;
  }
  PurgeRequest purge;
  purge.scope = base::metrics::PurgeScope::kUrl;
  purge.subject = std::string(url);
  purge.ns = cache::uriNamespace(target->authority, target->path);
  return purge;
}

PurgeRequest everythingPurge() {
  PurgeRequest purge;
  purge.scope = base::metrics::PurgeScope::kAll;
  purge.subject.assign(1, '*');
  purge.ns = std::string(kEverythingNamespace);
  return purge;
}

std::optional<bool> softParameter(std::string_view query, std::string& error) {
  std::optional<bool> soft;
  for (const auto& [name, value] : http::parseQuery(query)) {
    if (name != "soft") continue;
    if (soft) {
      error = "the soft parameter is given twice";
      return std::nullopt;
    }
    if (value == "1" || value == "true" || value.empty()) {
      soft = true;
    } else if (value == "0" || value == "false") {
      soft = false;
    } else {
      error = "soft must be 1, true, 0 or false";
      return std::nullopt;
    }
  }
  return soft.value_or(false);
}

cache::Invalidation makeInvalidation(std::string_view key_prefix, const PurgeRequest& purge) {
  cache::Invalidation invalidation;
  invalidation.version_keys.push_back(cache::namespaceKey(key_prefix, purge.ns));
  invalidation.tokens.push_back(purge.soft ? cache::softPurgeToken(purge.at) : cache::newVersionToken());
  invalidation.soft = purge.soft;
  invalidation.version_ttl = kVersionTtl;
  invalidation.epoch_key = cache::epochKey(key_prefix);
  return invalidation;
}

std::string_view scopeName(base::metrics::PurgeScope scope) {
  switch (scope) {
    case base::metrics::PurgeScope::kNamespace: return "namespace";
    case base::metrics::PurgeScope::kUrl: return "url";
    case base::metrics::PurgeScope::kAll: return "all";
  }
  return "?";
}

std::optional<std::string> purgeWarning(const PurgeRequest& purge,
                                        const config::NamespaceIndex& namespaces) {
  if (purge.scope != base::metrics::PurgeScope::kNamespace) return std::nullopt;
  if (namespaces.mayHold(purge.ns)) return std::nullopt;
  return "no route uses the namespace \"" + purge.ns +
         "\" (no read route's namespaces: names it; a typo?); purged anyway";
}

}  // namespace larder::admin
