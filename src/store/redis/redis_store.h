// RedisStore: the cache::Store of one worker over Redis, with async hiredis
// on the worker's loop.
//
// Ownership: the worker owns the store; the store owns a fixed set of
// RedisConnections (options.connections; each command goes to the least
// loaded one, and commands issued in one loop turn pipeline on it), the circuit breaker and the queue its
// completions are delivered from. Reply callbacks held by a connection may
// point at the store: the store outlives its connections, and a connection
// drops its callbacks when destroyed.
//
// Failure model (DESIGN invariant 5): every command has a deadline
// (RedisConnection); a failure of any kind completes with kUnavailable (the
// caller bypasses Redis). Error replies and lost connections count toward
// the breaker; late replies on a live connection and a full queue do not
// (issue 13: a busy Redis is not a dead one). Once open, operations fail on
// the next loop turn without touching Redis until a PING probe after the
// cooldown succeeds.
// Keys (DESIGN invariant 2): every write sets a TTL, the insert script too.
// Restarts (issue 16): every lookup, insert and invalidation reads or
// writes the generation key, and version values carry their generation
// (store/redis/generation.h); a restart from an old snapshot brings no
// entry of before it back.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cache/store.h"
#include "net/loop.h"
#include "net/timer.h"
#include "net/defer.h"
#include "store/redis/circuit_breaker.h"
#include "store/redis/entry_read_waits.h"
#include "store/redis/local_copies.h"
#include "store/redis/redis_connection.h"
#include "store/redis/redis_options.h"

namespace larder::store {

class RedisStore final : public cache::Store {
 public:
  // Starts connecting at once; operations fail with kUnavailable until a
  // connection is ready.
  RedisStore(net::Loop& loop, RedisOptions options);
  ~RedisStore() override;
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  // MGET of the generation key, the version keys and the entry: one round
  // trip (invariant 1). For an entry this store keeps a copy of, the copy
  // lookup script instead, also one round trip: the same reads, but the
  // entry's bytes only if they are no longer the copy's
  // (store/redis/local_copies.h).
  cache::Pending lookup(std::vector<std::string> version_keys, std::string entry_key,
                        LookupCallback on_done) override;
  // EVALSHA of the insert script (EVAL after NOSCRIPT): checks and writes
  // atomically (invariant 3).
  void insert(cache::InsertRequest request, InsertCallback on_done) override;
  // EVAL of the invalidation script: the epoch and every key in one step.
  cache::Pending invalidate(cache::Invalidation invalidation, StatusCallback on_done) override;
  // DEL of the keys.
  cache::Pending remove(std::vector<std::string> keys, StatusCallback on_done) override;
  // True while the breaker is closed.
  bool isAvailable() const override { return breaker_.isClosed(); }
  std::string_view name() const override { return "redis"; }

  size_t readyConnectionsForTest() const;
  bool isReady() const override { return readyConnectionsForTest() > 0; }
  CircuitBreaker::State breakerState() const { return breaker_.state(); }

  // The Lua source of the insert script (KEYS: entry, versions..., the
  // generation key; ARGV: value, ttl, version ttl, then token and create flag
  // per version, then the generation the lookup saw).
  static const std::string& insertScript();

  const LocalCopies& localCopiesForTest() const { return copies_; }

 private:
  // The next ready connection, round-robin; nullptr when the breaker is not
  // closed or none is ready.
  RedisConnection* pick();
  // Sends on `connection`, or runs `on_reply(nullptr)` now when it cannot:
  // the handlers only queue their completion, so it still arrives later.
  void send(RedisConnection* connection, const std::vector<std::string_view>& args,
            RedisConnection::ReplyCallback on_reply);
  void sendInsert(std::shared_ptr<const cache::InsertRequest> request, InsertCallback on_done,
                  bool by_sha);
  // What a lookup's MGET does for the local copies: nothing (off, or no
  // entry), offer what it read, or also lead the lookups waiting for it
  // (store/redis/entry_read_waits.h).
  enum class EntryRead { kNoCopies, kOffer, kLead };
  // The lookup of an entry while copies are on: by its copy when one is
  // kept, else by readEntry.
  void lookupWithCopies(std::shared_ptr<cache::PendingState> state,
                        std::vector<std::string> version_keys, std::string entry_key,
                        uint64_t key_hash, LookupCallback on_done, bool may_wait);
  // Reads the entry's bytes: at once, or after the read of them already in
  // flight when `may_wait` and they may be worth a copy.
  void readEntry(std::shared_ptr<cache::PendingState> state, std::vector<std::string> version_keys,
                 std::string entry_key, uint64_t key_hash, LookupCallback on_done, bool may_wait);
  // The MGET of a lookup, for a new one or one whose copy was not current.
  void sendLookup(std::shared_ptr<cache::PendingState> state, const std::vector<std::string>& version_keys,
                  const std::string& entry_key, EntryRead read, uint64_t key_hash,
                  LookupCallback on_done);
  // A lookup that asks whether a kept copy is current: the entry key's tail
  // (GETRANGE), then the versions (MGET), on one connection.
  struct CopyLookup {
    std::shared_ptr<cache::PendingState> state;
    std::vector<std::string> version_keys;
    std::string entry_key;
    LocalCopies::Bytes copy;
    uint64_t key_hash = 0;
    LookupCallback on_done;
    // The GETRANGE's reply, read when the MGET's arrives.
    bool tag_answered = false;
    bool tag_matches = false;
    RedisConnection::Failure tag_failure{};
  };
  void sendCopyLookup(std::shared_ptr<CopyLookup> lookup);
  // One allocation (the posted closure holds `fn` itself, not a
  // std::function wrapping it).
  template <typename Fn>
  void deliver(const std::shared_ptr<cache::PendingState>& state, Fn&& fn) {
    // Never inside a hiredis callback (store.h contract; and the callback
    // may destroy this store), and never once the Pending is gone (STYLE L4).
    deferred_.post([state, fn = std::forward<Fn>(fn)]() mutable {
      if (!state->cancelled) fn();
    });
  }
  // `ok`: the command succeeded; `failure`: why it had no reply. A write
  // refusal (`reply`, isWriteRefusal) is counted and logged, not held
  // against Redis: reads still work there.
  void recordOutcome(bool ok, RedisConnection::Failure failure, const redisReply* reply = nullptr);
  // A reply showed another generation than `connection` knew.
  void onGenerationMismatch(RedisConnection* connection);
  void onBreakerOpened(bool after_probe);
  void probe();

  const RedisOptions options_;
  // Declared before the connections: destroyed after them.
  net::Deferrer deferred_;
  CircuitBreaker breaker_;
  net::Timer probe_timer_;
  std::vector<std::unique_ptr<RedisConnection>> connections_;
  size_t next_ = 0;
  bool connected_once_ = false;  // a connection has been ready at least once
  std::vector<std::string_view> lookup_args_;  // lookup()'s, reused
  LocalCopies copies_;
  EntryReadWaits entry_reads_;
};

}  // namespace larder::store
