#include "store/memory/memory_store.h"

#include "base/metric_catalog.h"

namespace larder::store {

MemoryStore::MemoryStore(net::Loop& loop, std::shared_ptr<MemoryBackend> backend)
    : backend_(std::move(backend)), deferred_(loop) {}

cache::Pending MemoryStore::lookup(std::vector<std::string> version_keys, std::string entry_key,
                                   LookupCallback on_done) {
  cache::LookupResult result = backend_->lookup(version_keys, entry_key);
  return deliver([on_done = std::move(on_done), result = std::move(result)]() mutable {
    if (on_done) on_done(std::move(result));
  });
}

void MemoryStore::insert(cache::InsertRequest request, InsertCallback on_done) {
  cache::InsertOutcome outcome = backend_->insert(request);
  base::metrics::cache_inserts.add(static_cast<size_t>(outcome), 1);
  if (!on_done) return;
  // No Pending: the caller may be gone, so the callback owns what it needs.
  deferred_.post([on_done = std::move(on_done), outcome] { on_done(outcome); });
}

cache::Pending MemoryStore::invalidate(cache::Invalidation invalidation, StatusCallback on_done) {
  cache::StoreStatus status = backend_->invalidate(invalidation);
  return deliver([on_done = std::move(on_done), status] {
    if (on_done) on_done(status);
  });
}

cache::Pending MemoryStore::remove(std::vector<std::string> keys, StatusCallback on_done) {
  backend_->remove(keys);
  return deliver([on_done = std::move(on_done)] {
    if (on_done) on_done(cache::StoreStatus::kOk);
  });
}

cache::Pending MemoryStore::deliver(std::function<void()> fn) {
  auto state = std::make_shared<cache::PendingState>();
  deferred_.post([state, fn = std::move(fn)] {
    if (!state->cancelled) fn();
  });
  return cache::Pending(state);
}

}  // namespace larder::store
