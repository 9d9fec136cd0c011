#include "cache/store_decisions.h"

namespace larder::cache {

void StoreDecisions::remember(const std::string& entry_key, bool stored, std::string_view reason,
                              int status, base::WallTime at) {
  std::lock_guard lock(mutex_);
  StoreDecisionRecord record{stored, std::string(reason), status, at};
  if (auto found = slots_.find(entry_key); found != slots_.end()) {
    found->second.record = std::move(record);
    order_.splice(order_.begin(), order_, found->second.position);
    return;
  }
  if (slots_.size() >= capacity_) {
    slots_.erase(order_.back());
    order_.pop_back();
  }
  order_.push_front(entry_key);
  slots_.emplace(entry_key, Slot{std::move(record), order_.begin()});
}

std::optional<StoreDecisionRecord> StoreDecisions::find(const std::string& entry_key) const {
  std::lock_guard lock(mutex_);
  auto found = slots_.find(entry_key);
  if (found == slots_.end()) return std::nullopt;
  return found->second.record;
}

size_t StoreDecisions::size() const {
  std::lock_guard lock(mutex_);
  return slots_.size();
}

StoreDecisions& storeDecisions() {
  static StoreDecisions decisions;
  return decisions;
}

void rememberStoreDecision(const std::string& entry_key, std::string_view reason, int status) {
  storeDecisions().remember(entry_key, reason == "stored", reason, status, base::WallClock::now());
}

}  // namespace larder::cache
