// A cache::Store whose invalidations wait until the test settles them, one
// at a time, oldest first. It keeps the Pending contract (cache/store.h): a
// cancelled or detached one never calls back. Availability and readiness
// are the test's to set; nothing else is used.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "cache/store.h"

namespace larder::test {

class HeldStore : public cache::Store {
 public:
  cache::Pending lookup(std::vector<std::string>, std::string, LookupCallback) override { return {}; }
  void insert(cache::InsertRequest, InsertCallback) override {}
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override {
    auto made = cache::Pending::make();
    held_.push_back(Held{std::move(invalidation), std::move(on_done), made.second});
    return std::move(made.first);
  }
  cache::Pending remove(std::vector<std::string>, StatusCallback) override { return {}; }
  bool isAvailable() const override { return available; }
  bool isReady() const override { return ready; }
  std::string_view name() const override { return "held"; }

  size_t heldCount() const { return held_.size(); }
  const cache::Invalidation& oldest() const { return held_.front().invalidation; }
  // Settles the oldest invalidation: false if its caller had dropped the
  // callback (then it is not called).
  bool settle(cache::StoreStatus status) {
    REQUIRE_FALSE(held_.empty());
    Held held = std::move(held_.front());
    held_.erase(held_.begin());
    if (held.state->isCancelled()) return false;
    held.state->finish();
    held.on_done(status);
    return true;
  }

  bool available = true;
  bool ready = true;

 private:
  struct Held {
    cache::Invalidation invalidation;
    StatusCallback on_done;
    std::shared_ptr<cache::PendingState> state;
  };
  std::vector<Held> held_;
};

}  // namespace larder::test
