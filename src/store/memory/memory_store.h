// MemoryStore: the cache::Store of one worker over the process-wide
// MemoryBackend.
//
// Ownership: the worker owns its MemoryStore; every MemoryStore holds a
// shared_ptr to the one backend. Operations run synchronously under the
// backend's lock, but their callbacks are delivered on a later turn of this
// store's loop (store.h: never inside the call), through a net::Deferrer. A
// callback whose Pending was destroyed is dropped; destroying the store drops
// every undelivered callback.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/store.h"
#include "net/loop.h"
#include "net/defer.h"
#include "store/memory/memory_backend.h"

namespace larder::store {

class MemoryStore final : public cache::Store {
 public:
  MemoryStore(net::Loop& loop, std::shared_ptr<MemoryBackend> backend);

  cache::Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                        LookupCallback on_done) override;
  void insert(cache::InsertRequest request, InsertCallback on_done) override;
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override;
  cache::Pending remove(std::vector<std::string> keys, StatusCallback on_done) override;
  bool isAvailable() const override { return true; }
  std::string_view name() const override { return "memory"; }

  const MemoryBackend& backend() const { return *backend_; }

 private:
  // Queues `fn` for a later loop turn; destroying the returned Pending
  // before then drops it.
  cache::Pending deliver(std::function<void()> fn);

  std::shared_ptr<MemoryBackend> backend_;
  net::Deferrer deferred_;
};

}  // namespace larder::store
