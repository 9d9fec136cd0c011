#include "cache/memory_tier.h"

namespace larder::cache {
namespace {

// What an item costs beyond its strings: list and hash nodes, the control
// block of the shared buffer, the vector. An estimate, on the high side.
constexpr uint64_t kItemOverhead = 256;

}  // namespace

void MemoryTier::setMaxBytes(uint64_t max_bytes) {
  std::lock_guard lock(mutex_);
  max_bytes_ = max_bytes;
  evictToLocked(max_bytes_);
}

void MemoryTier::setCoherent(bool coherent) {
  std::lock_guard lock(mutex_);
  coherent_ = coherent;
  if (!coherent_) flushLocked();
}

bool MemoryTier::isEnabled() const {
  std::lock_guard lock(mutex_);
  return max_bytes_ > 0 && coherent_;
}

uint64_t MemoryTier::tick() {
  std::lock_guard lock(mutex_);
  return ++clock_;
}

bool MemoryTier::put(const std::string& entry_key, std::shared_ptr<const std::string> encoded,
                     std::vector<std::string> version_keys, base::MonoTime expires, uint64_t lookup_tick) {
  uint64_t bytes = kItemOverhead + entry_key.size() + encoded->size();
  for (const auto& key : version_keys) bytes += key.size();
  std::lock_guard lock(mutex_);
  if (!coherent_ || bytes > max_bytes_ || lookup_tick <= floor_tick_ ||
      invalidatedSinceLocked(version_keys, lookup_tick))
    return false;
  if (auto it = index_.find(entry_key); it != index_.end()) eraseLocked(it->second);
  evictToLocked(max_bytes_ - bytes);
  lru_.push_front(Item{entry_key, std::move(encoded), std::move(version_keys), expires, lookup_tick, bytes});
  index_.emplace(entry_key, lru_.begin());
  bytes_ += bytes;
  return true;
}

std::shared_ptr<const std::string> MemoryTier::get(const std::string& entry_key, base::MonoTime now) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(entry_key);
  if (it == index_.end()) return nullptr;
  Item& item = *it->second;
  if (!coherent_ || item.expires <= now || invalidatedSinceLocked(item.version_keys, item.lookup_tick)) {
    eraseLocked(it->second);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return item.encoded;
}

void MemoryTier::invalidate(const std::vector<std::string>& version_keys) {
  std::lock_guard lock(mutex_);
  if (stamps_.size() + version_keys.size() > kMaxStamps) {
    flushLocked();
    stamps_.clear();  // safe: the flush refuses every put they could refuse
  }
  uint64_t now = ++clock_;
  for (const auto& key : version_keys) stamps_[key] = now;
}

void MemoryTier::flush() {
  std::lock_guard lock(mutex_);
  flushLocked();
}

uint64_t MemoryTier::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t MemoryTier::size() const {
  std::lock_guard lock(mutex_);
  return index_.size();
}

bool MemoryTier::invalidatedSinceLocked(const std::vector<std::string>& version_keys, uint64_t tick) const {
  for (const auto& key : version_keys) {
    auto it = stamps_.find(key);
    if (it != stamps_.end() && it->second >= tick) return true;
  }
  return false;
}

void MemoryTier::eraseLocked(Lru::iterator it) {
  bytes_ -= it->bytes;
  index_.erase(it->key);
  lru_.erase(it);
}

void MemoryTier::flushLocked() {
  lru_.clear();
  index_.clear();
  bytes_ = 0;
  floor_tick_ = ++clock_;
}

void MemoryTier::evictToLocked(uint64_t max_bytes) {
  while (bytes_ > max_bytes && !lru_.empty()) eraseLocked(std::prev(lru_.end()));
}

}  // namespace larder::cache
