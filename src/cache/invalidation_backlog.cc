#include "cache/invalidation_backlog.h"

#include <algorithm>

namespace larder::cache {

void InvalidationBacklog::add(const Invalidation& invalidation) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < invalidation.version_keys.size() && i < invalidation.tokens.size(); ++i)
    pending_[invalidation.version_keys[i]] = invalidation.tokens[i];
  version_ttl_ = invalidation.version_ttl;
  if (!invalidation.epoch_key.empty()) epoch_key_ = invalidation.epoch_key;
}

bool InvalidationBacklog::isPending(const std::vector<std::string>& version_keys) const {
  std::lock_guard lock(mutex_);
  if (pending_.empty()) return false;
  for (const auto& key : version_keys)
    if (pending_.count(key) != 0) return true;
  return false;
}

bool InvalidationBacklog::empty() const {
  std::lock_guard lock(mutex_);
  return pending_.empty();
}

size_t InvalidationBacklog::size() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

Invalidation InvalidationBacklog::snapshot() const {
  std::lock_guard lock(mutex_);
  Invalidation out;
  out.version_ttl = version_ttl_;
  out.epoch_key = epoch_key_;
  for (const auto& [key, token] : pending_) {
    out.version_keys.push_back(key);
    out.tokens.push_back(token);
  }
  return out;
}

std::vector<std::string> InvalidationBacklog::keys(size_t limit) const {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mutex_);
    out.reserve(pending_.size());
    for (const auto& entry : pending_) out.push_back(entry.first);
  }
  const size_t kept = std::min(limit, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(kept), out.end());
  out.resize(kept);
  return out;
}

void InvalidationBacklog::resolve(const Invalidation& retried) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < retried.version_keys.size() && i < retried.tokens.size(); ++i) {
    auto it = pending_.find(retried.version_keys[i]);
    if (it != pending_.end() && it->second == retried.tokens[i]) pending_.erase(it);
  }
}

}  // namespace larder::cache
