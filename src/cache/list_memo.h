// A process-wide memo from a key to a list of strings, remembered from the
// last upstream answer for that key: which fields a resource varies on
// (VaryMemo, cache/vary.h), which surrogate keys an entry was tagged with
// (SurrogateMemo, cache/surrogate_keys.h). Bounded: when full it starts
// over, which costs each forgotten key one relearning.
//
// Threading: one of each per process (app::SharedState); find() and
// remember() are called from every worker thread, by their exchanges. One
// mutex guards the map; find() returns a copy, so nothing is shared once it
// returns.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace larder::cache {

class ListMemo {
 public:
  explicit ListMemo(size_t max_entries = 100000) : max_entries_(max_entries) {}
  // Empty when nothing is remembered.
  std::vector<std::string> find(const std::string& key) const;
  // An empty list forgets the key.
  void remember(const std::string& key, std::vector<std::string> items);

 private:
  mutable std::mutex mutex_;
  size_t max_entries_;
  std::unordered_map<std::string, std::vector<std::string>> items_;
};

}  // namespace larder::cache
