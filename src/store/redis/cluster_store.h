// ClusterStore: the cache::Store of one worker over a Redis Cluster
// (issue 16, item 2), with only single-key commands, each routed to the
// node serving its key's slot (ClusterRouter).
//
// Key layout: the keys of the single-server store, unchanged
// ("<prefix>:e:<digest>", "<prefix>:ns:<namespace>", "<prefix>:epoch"), each
// in the slot of its own name, so entries and namespaces spread over the
// masters. No hash tag groups them: an entry's namespaces are shared with
// other entries, so no one slot can hold an entry with all of its versions.
// (A namespace or prefix containing "{...}" only changes where it lives.)
//
// How the invariants (DESIGN.md) hold without multi-key atomicity:
//  1. One round trip in latency: a lookup sends one GET per key, all at
//     once, to their nodes; the result is complete when the last answers.
//     The comparison of recorded and current versions is client-side
//     already (cache/versioned_insert.h recordedVersionsHold). An entry
//     this worker keeps a copy of (store/redis/local_copies.h) is asked
//     after by its tag (GETRANGE of its key's tail) instead of read; only
//     when the tag is not there does a second round trip read the entry.
//  2. Every SET carries PX; the version script refreshes TTLs.
//  3/4. Read your writes; no resurrection: an entry records the unique
//     tokens it was fetched under and is served only while every version key
//     holds exactly them (an absent key never matches). An invalidation
//     writes a fresh token to every key, each with one SET on its node, and
//     is acknowledged only once every SET succeeded (else kUnavailable: the
//     caller's backlog retries and bypasses those namespaces, invariant 5).
//     The insert check needs no cross-slot atomicity: see insert() in the .cc.
//  Generations (store/redis/generation.h): a version value is tagged with
//     the run of the node that stores it, taken by the connection's handshake
//     (RedisOptions::cluster_node); read through another run (a restart from
//     a snapshot, a failover, a slot migrated to another node) it counts as
//     absent: entries under it are misses, never served.
//  The epoch (cache/store.h): an invalidation first advances the epoch key
//     (one script on its node), then writes "<epoch>.<token>" everywhere.
//  Invalidation notices for other instances' tiers: SPUBLISH to the shard
//     of the channel's slot (ClusterShardSubscriber listens there), PUBLISH
//     before Redis 7.
//  5. A node down or slow fails only the commands for its slots, with
//     kUnavailable (bypass); the breaker opens on consecutive failures.
//
// Ownership: the worker owns the store; the store owns the router (and so
// every node connection), the breaker and its completion queue.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/store.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/defer.h"
#include "store/redis/circuit_breaker.h"
#include "store/redis/cluster_router.h"
#include "store/redis/entry_read_waits.h"
#include "store/redis/local_copies.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class ClusterStore final : public cache::Store {
 public:
  // Starts connecting to the seeds at once; operations fail with
  // kUnavailable until the slot map is known and its nodes are ready.
  ClusterStore(net::Loop& loop, RedisOptions options, std::vector<ClusterNode> seeds);
  ~ClusterStore() override;
  ClusterStore(const ClusterStore&) = delete;
  ClusterStore& operator=(const ClusterStore&) = delete;

  cache::Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                        LookupCallback on_done) override;
  void insert(cache::InsertRequest request, InsertCallback on_done) override;
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override;
  cache::Pending remove(std::vector<std::string> keys, StatusCallback on_done) override;
  bool isAvailable() const override { return breaker_.isClosed(); }
  bool isReady() const override { return router_.isReady(); }
  std::string_view name() const override { return "redis-cluster"; }

  ClusterRouter& routerForTest() { return router_; }
  const LocalCopies& localCopiesForTest() const { return copies_; }

  // The single-key Lua of the insert check (see insert() in the .cc).
  // KEYS: a version key; ARGV: the node's tag, token, "1" to create, version ttl.
  static const std::string& versionCheckScript();

 private:
  struct Gather;

  // Sends one routed command, counting its outcome for the breaker; fails
  // at once (kLost) while the breaker is open.
  void send(std::string key, ClusterRouter::Build build, ClusterRouter::Reply on_reply);
  void deliver(const std::shared_ptr<cache::PendingState>& state, std::function<void()> fn);
  // As RedisStore::recordOutcome: a write refusal is not held against Redis.
  void recordOutcome(bool ok, RedisConnection::Failure failure, const redisReply* reply = nullptr);
  void writeVersions(std::shared_ptr<const cache::Invalidation> invalidation, std::string epoch,
                     std::shared_ptr<cache::PendingState> state, StatusCallback on_done);
  void startLookup(std::shared_ptr<cache::PendingState> state, std::vector<std::string> version_keys,
                   std::string entry_key, LookupCallback on_done, bool may_wait);
  // Whether the lookup may read its entry's bytes now: false when it waits
  // for another read of them already in flight and is started again after
  // it (store/redis/entry_read_waits.h; `version_keys` are then taken);
  // true, and maybe leading, otherwise.
  bool mayReadEntry(const std::shared_ptr<Gather>& gather, std::vector<std::string>& version_keys,
                    const std::string& entry_key, bool may_wait);
  // A lookup whose entry copy was not current reads the entry's bytes.
  void readEntryAfterCopy(std::shared_ptr<Gather> gather);
  void finishLookup(std::shared_ptr<Gather> gather);
  void probe();
  // Tells other instances' tiers (see the .cc).
  void announce(std::string message);

  const RedisOptions options_;
  net::Deferrer deferred_;  // before the router: outlives its callbacks
  CircuitBreaker breaker_;
  net::Timer probe_timer_;
  ClusterRouter router_;
  bool sharded_publish_ = true;  // until a node says SPUBLISH is unknown
  LocalCopies copies_;
  EntryReadWaits entry_reads_;
};

}  // namespace larder::store
