#include "cache/list_memo.h"

namespace larder::cache {

std::vector<std::string> ListMemo::find(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = items_.find(key);
  return it == items_.end() ? std::vector<std::string>{} : it->second;
}

void ListMemo::remember(const std::string& key, std::vector<std::string> items) {
  std::lock_guard lock(mutex_);
  if (items.empty()) {
    items_.erase(key);
    return;
  }
  if (items_.size() >= max_entries_ && items_.count(key) == 0) items_.clear();
  items_[key] = std::move(items);
}

}  // namespace larder::cache
