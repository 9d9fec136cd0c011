#include "store/redis/cluster_store.h"

#include <algorithm>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "cache/entry_codec.h"
#include "cache/soft_purge.h"
#include "store/redis/generation.h"
#include "store/redis/invalidation_channel.h"
#include "store/redis/reply_text.h"
#include "store/redis/write_refusal.h"
#include "store/request_checks.h"

namespace larder::store {

using Failure = RedisConnection::Failure;

namespace {

// The insert check of one version key (see insert()): the single-server
// script's per-key rule. A value of another generation counts as absent.
constexpr std::string_view kVersionCheckScript = R"lua(
local tag = ARGV[1]
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, #tag) ~= tag then current = false end
local version_ttl = tonumber(ARGV[4])
if ARGV[3] == '1' then
  if current then return 0 end
  redis.call('SET', KEYS[1], tag .. ARGV[2], 'PX', version_ttl)
  return 1
end
if current ~= tag .. ARGV[2] then return 0 end
if redis.call('PTTL', KEYS[1]) < version_ttl then redis.call('PEXPIRE', KEYS[1], version_ttl) end
return 1
)lua";

// Advances the epoch key alone (cache/store.h): max(the node's clock in
// microseconds, previous + 1). KEYS: the epoch key; ARGV: the node's tag,
// the epoch's ttl. Returns the epoch as text.
constexpr std::string_view kEpochScript = R"lua(
local now = redis.call('TIME')
local epoch = tonumber(now[1]) * 1000000 + tonumber(now[2])
local previous = redis.call('GET', KEYS[1])
previous = previous and tonumber(string.match(previous, '(%d+)$'))
if previous and previous >= epoch and previous < 9007199254740000 then epoch = previous + 1 end
local text = string.format('%.0f', epoch)
redis.call('SET', KEYS[1], ARGV[1] .. text, 'PX', ARGV[2])
return text
)lua";

// A soft purge of one key (cache/soft_purge.h): the new head, then the heads
// the previous value of this generation listed, kSoftChainLength in all,
// read and written in one step on the key's node. KEYS: the version key;
// ARGV: the node's tag, the new head, chain length, version ttl.
constexpr std::string_view kSoftScript = R"lua(
local tag = ARGV[1]
local value = tag .. ARGV[2]
local length = tonumber(ARGV[3])
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, #tag) == tag then
  local kept = 1
  for head in string.gmatch(string.sub(current, #tag + 1), '[^~]+') do
    if kept >= length then break end
    value = value .. '~' .. head
    kept = kept + 1
  end
end
redis.call('SET', KEYS[1], value, 'PX', ARGV[4])
return 1
)lua";

bool isOk(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_STATUS && textOf(reply) == "OK";
}

// Counts the replies of a fan-out; `done` runs after the last.
struct Countdown {
  size_t remaining = 0;
  bool failed = false;
  bool refused = false;
};

}  // namespace

const std::string& ClusterStore::versionCheckScript() {
  static const std::string script(kVersionCheckScript);
  return script;
}

ClusterStore::ClusterStore(net::Loop& loop, RedisOptions options, std::vector<ClusterNode> seeds)
    : options_(std::move(options)),
      deferred_(loop),
      breaker_(options_.breaker_failures),
      probe_timer_(loop),
      router_(loop, options_, std::move(seeds), versionCheckScript()),
      copies_(options_.local_copies_size, options_.local_copies_min_size) {}

ClusterStore::~ClusterStore() = default;

void ClusterStore::send(std::string key, ClusterRouter::Build build, ClusterRouter::Reply on_reply) {
  if (!breaker_.isClosed()) {
    on_reply(nullptr, Failure::kBusy, nullptr);  // fail fast; no outcome to count
    return;
  }
  router_.send(std::move(key), std::move(build), std::move(on_reply));
}

// The replies of a lookup's GETs, complete when the last is in.
struct ClusterStore::Gather : Countdown {
  std::shared_ptr<cache::PendingState> state;
  std::vector<std::string> keys;  // the versions', then the entry's
  std::vector<std::optional<std::string>> values;
  LookupCallback on_done;
  size_t version_count = 0;
  bool with_entry = false;
  // store/redis/local_copies.h: the entry's copy, if this worker keeps one,
  // and whether its key still ends in the copy's tag (GETRANGE instead of
  // GET for the entry).
  uint64_t key_hash = 0;
  LocalCopies::Bytes copy;
  bool copy_current = false;
  // Other lookups of the entry wait for this one's read of it
  // (store/redis/entry_read_waits.h).
  bool leads_read = false;
};

cache::Pending ClusterStore::lookup(std::vector<std::string> version_keys, std::string entry_key,
                                    LookupCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  startLookup(state, std::move(version_keys), std::move(entry_key), std::move(on_done), true);
  return cache::Pending(state);
}

void ClusterStore::startLookup(std::shared_ptr<cache::PendingState> state,
                               std::vector<std::string> version_keys, std::string entry_key,
                               LookupCallback on_done, bool may_wait) {
  auto gather = std::make_shared<Gather>();
  gather->state = std::move(state);
  gather->version_count = version_keys.size();
  gather->with_entry = !entry_key.empty();
  gather->on_done = std::move(on_done);
  if (gather->with_entry && copies_.isEnabled()) {
    gather->key_hash = LocalCopies::hashOf(entry_key);
    gather->copy = copies_.find(gather->key_hash);
    if (gather->copy == nullptr && !mayReadEntry(gather, version_keys, entry_key, may_wait)) {
      return;
    }
  }
  gather->keys = std::move(version_keys);
  const std::vector<std::string>& keys = gather->keys;
  if (gather->with_entry) gather->keys.push_back(std::move(entry_key));
  if (keys.empty()) {
    deliver(gather->state, [on_done = std::move(gather->on_done)] {
      if (on_done) on_done(cache::LookupResult{});
    });
    return;
  }
  // DESIGN invariant 1: every GET goes out now, in parallel; the versions
  // are compared with the entry's only once all are in (Exchange::onLookup).
  gather->remaining = keys.size();
  gather->values.resize(keys.size());
  const size_t entry_index = gather->with_entry ? keys.size() - 1 : keys.size();
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string key = keys[i];
    const bool tag_only = i == entry_index && gather->copy != nullptr;
    // The copy's tag is its bytes' tail: a few bytes cross instead of the
    // entry. Read in parallel with the versions, as the entry itself is:
    // what is served is decided by the tokens the entry records (insert()).
    auto build = [key, tag_only, gather](const RedisConnection&) {
      if (!tag_only) return std::vector<std::string>{"GET", key};
      const size_t tag_size = cache::entryTagOf(*gather->copy).size();
      return std::vector<std::string>{"GETRANGE", key, std::to_string(-static_cast<int64_t>(tag_size)), "-1"};
    };
    send(std::move(key), std::move(build),
         [this, gather, i, tag_only](const redisReply* reply, Failure failure,
                                     const RedisConnection* connection) {
           bool ok = reply != nullptr &&
                     (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_NIL);
           if (ok && tag_only) {
             const std::string_view tag = cache::entryTagOf(*gather->copy);
             gather->copy_current = !tag.empty() && textOf(reply) == tag;
           } else if (ok && reply->type == REDIS_REPLY_STRING) {
             std::optional<std::string> value(std::string(textOf(reply)));
             // A version is read against the run of the node that answered
             // (store/redis/generation.h); the entry is opaque bytes.
             if (i < gather->version_count) {
               value = untagVersion(std::move(value), generationTag(connection->generation()));
             }
             gather->values[i] = std::move(value);
           } else if (reply != nullptr && !ok) {
             LOG_WARN("redis cluster: GET answered {}",
                      reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "an unexpected type");
           }
           recordOutcome(ok, failure);
           gather->failed = gather->failed || !ok;
           if (--gather->remaining != 0) return;
           if (!gather->failed && gather->copy && !gather->copy_current) {
             readEntryAfterCopy(gather);  // replaced, removed or expired: its bytes now
             return;
           }
           finishLookup(gather);
         });
  }
}

bool ClusterStore::mayReadEntry(const std::shared_ptr<Gather>& gather,
                                std::vector<std::string>& version_keys, const std::string& entry_key,
                                bool may_wait) {
  if (!may_wait || !copies_.mayKeep(gather->key_hash)) return true;
  if (!entry_reads_.isReading(gather->key_hash)) {
    entry_reads_.startReading(gather->key_hash);
    gather->leads_read = true;
    return true;
  }
  entry_reads_.wait(gather->key_hash, [this, state = gather->state, version_keys = std::move(version_keys),
                                       entry_key, on_done = gather->on_done](bool read_ok) mutable {
    if (state->cancelled) return;
    if (!read_ok) {
      deliver(state, [on_done = std::move(on_done)] {
        if (on_done) on_done(cache::LookupResult::unavailable());
      });
      return;
    }
    startLookup(std::move(state), std::move(version_keys), std::move(entry_key), std::move(on_done),
                false);
  });
  return false;
}

void ClusterStore::readEntryAfterCopy(std::shared_ptr<Gather> gather) {
  const std::string& entry_key = gather->keys.back();
  std::vector<std::string> version_keys(gather->keys.begin(), gather->keys.end() - 1);
  const LocalCopies::Bytes kept = copies_.find(gather->key_hash);
  if (kept != nullptr && kept != gather->copy) {
    // Another lookup's read replaced the copy meanwhile (a burst after a
    // write): ask after its tag instead of reading the bytes again.
    startLookup(gather->state, std::move(version_keys), entry_key, std::move(gather->on_done), true);
    return;
  }
  gather->copy = nullptr;
  if (!mayReadEntry(gather, version_keys, entry_key, true)) return;  // looked up again later
  std::string key = entry_key;
  auto build = [key](const RedisConnection&) { return std::vector<std::string>{"GET", key}; };
  send(std::move(key), std::move(build),
       [this, gather](const redisReply* reply, Failure failure, const RedisConnection*) {
         const bool ok = reply != nullptr &&
                         (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_NIL);
         if (ok && reply->type == REDIS_REPLY_STRING) gather->values.back() = std::string(textOf(reply));
         recordOutcome(ok, failure);
         gather->failed = !ok;
         finishLookup(gather);
       });
}

void ClusterStore::finishLookup(std::shared_ptr<Gather> gather) {
  cache::LookupResult result;
  if (gather->failed) {
    result.status = cache::StoreStatus::kUnavailable;
  } else {
    if (gather->with_entry) {
      if (gather->copy_current) {
        result.entry = cache::EntryBytes::shared(gather->copy);  // the kept bytes themselves
        base::metrics::redis_local_copy_hits.inc();
        base::metrics::redis_local_copy_bytes_saved.inc(gather->copy->size());
      } else {
        result.entry = std::move(gather->values.back());
        if (copies_.isEnabled()) {
          if (result.entry) {
            const bool wanted = gather->leads_read && entry_reads_.hasWaiters(gather->key_hash);
            copies_.offer(gather->key_hash, *result.entry, wanted);
          } else {
            copies_.drop(gather->key_hash);
          }
        }
      }
      gather->values.pop_back();
    }
    result.versions = std::move(gather->values);
  }
  deliver(gather->state, [gather, result = std::move(result)]() mutable {
    if (gather->on_done) gather->on_done(std::move(result));
  });
  if (gather->leads_read) {
    for (auto& retry : entry_reads_.finish(gather->key_hash)) retry(!gather->failed);
  }
}

// The insert check without a cross-slot atomic step (DESIGN invariants 3
// and 4). Each version key is checked (and, when the lookup saw it absent,
// created) by one script on its own node; only when every check passed is
// the entry written, with a plain SET on its node. The checks and the SET
// are not atomic together, and need not be: what is served is decided at
// read time. A lookup L serves an entry only if every version key Ki holds,
// when L reads it, the token ti the entry records (Exchange::onLookup,
// recordedVersionsHold). Tokens are unique random strings; every
// invalidation and every creation writes a fresh one, and nothing writes ti
// again once it is replaced or evicted (an absent key never matches). So if
// Ki holds ti at L, no invalidation's SET landed on Ki between ti's
// appearance and L. Now let W be a write whose answer reached its client
// before L began: W's SET on Ki landed (acknowledged) before that answer.
//  - ti was seen at the entry's lookup L0, before the fetch. If W's SET
//    landed after L0, it replaced ti before L: L misses. If before L0, the
//    fetch began after W's invalidation, itself after W's upstream answer:
//    the entry reflects W.
//  - Ki was absent at L0 (create): the check creates ti only if Ki is still
//    absent. W's SET before the check: refused. After it: it replaces ti
//    before L: L misses. Before L0: as above, the fetch is after W.
// A refused insert may leave keys it created: a created token is no write
// (cache/versioned_insert.h), and no entry records it.
void ClusterStore::insert(cache::InsertRequest request, InsertCallback on_done) {
  if (!isValidInsert(request)) {
    if (on_done) deferred_.post([on_done] { on_done(cache::InsertOutcome::kUnavailable); });
    return;
  }
  auto shared = std::make_shared<const cache::InsertRequest>(std::move(request));
  auto finish = [this, on_done](cache::InsertOutcome outcome) {
    base::metrics::cache_inserts.add(static_cast<size_t>(outcome), 1);
    if (on_done) deferred_.post([on_done, outcome] { on_done(outcome); });
  };
  auto write_entry = [this, shared, finish] {
    auto build = [shared](const RedisConnection&) {
      return std::vector<std::string>{"SET", shared->key, shared->value, "PX",
                                      std::to_string(shared->ttl.count())};
    };
    send(shared->key, std::move(build),
         [this, finish](const redisReply* reply, Failure failure, const RedisConnection*) {
           recordOutcome(isOk(reply), failure, reply);
           finish(isOk(reply) ? cache::InsertOutcome::kStored : cache::InsertOutcome::kUnavailable);
         });
  };
  if (shared->versions.empty()) {
    write_entry();
    return;
  }
  auto countdown = std::make_shared<Countdown>();
  countdown->remaining = shared->versions.size();
  const std::string version_ttl = std::to_string(shared->version_ttl.count());
  for (size_t i = 0; i < shared->versions.size(); ++i) {
    auto build = [shared, i, version_ttl](const RedisConnection& connection) {
      const cache::VersionExpectation& version = shared->versions[i];
      return std::vector<std::string>{"EVAL", versionCheckScript(), "1", version.key,
                                      generationTag(connection.generation()), version.token,
                                      version.create ? "1" : "0", version_ttl};
    };
    send(shared->versions[i].key, std::move(build),
         [this, countdown, finish, write_entry](const redisReply* reply, Failure failure,
                                                const RedisConnection*) {
           const bool ok = reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
           if (reply != nullptr && !ok && !isWriteRefusal(reply))
             LOG_WARN("redis cluster: version check answered {}",
                      reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "an unexpected type");
           recordOutcome(ok, failure, reply);
           countdown->failed = countdown->failed || !ok;
           countdown->refused = countdown->refused || (ok && reply->integer != 1);
           if (--countdown->remaining != 0) return;
           if (countdown->failed) {
             finish(cache::InsertOutcome::kUnavailable);
           } else if (countdown->refused) {
             finish(cache::InsertOutcome::kVersionChanged);
           } else {
             write_entry();
           }
         });
  }
}

// First the epoch, on its node; then every version key, each on its own
// node, in parallel. Acknowledged (kOk) only when all of them succeeded:
// until then the caller's backlog holds the invalidation and this instance
// bypasses its namespaces (DESIGN invariant 5). The epoch is advanced before
// any token carrying it is written, so a lookup that read the epoch before
// this invalidation began reads a smaller one than every token it writes
// (cache/versioned_insert.h, versions a lookup did not read); one that read
// it after began after the write's upstream answer.
cache::Pending ClusterStore::invalidate(cache::Invalidation invalidation, StatusCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  const bool valid = isValidInvalidation(invalidation);
  if (!valid || invalidation.version_keys.empty()) {
    const auto status = valid ? cache::StoreStatus::kOk : cache::StoreStatus::kUnavailable;
    deliver(state, [on_done, status] {
      if (on_done) on_done(status);
    });
    return cache::Pending(state);
  }
  auto shared = std::make_shared<const cache::Invalidation>(std::move(invalidation));
  const std::string epoch_ttl = std::to_string(
      std::max(shared->version_ttl, std::chrono::milliseconds(cache::kEpochTtl)).count());
  auto build = [shared, epoch_ttl](const RedisConnection& connection) {
    return std::vector<std::string>{"EVAL", std::string(kEpochScript), "1", shared->epoch_key,
                                    generationTag(connection.generation()), epoch_ttl};
  };
  send(shared->epoch_key, std::move(build),
       [this, shared, state, on_done](const redisReply* reply, Failure failure, const RedisConnection*) {
         const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STRING;
         if (reply != nullptr && !ok && !isWriteRefusal(reply))
           LOG_WARN("redis cluster: epoch script answered {}",
                    reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "an unexpected type");
         recordOutcome(ok, failure, reply);
         if (!ok) {
           deliver(state, [on_done] {
             if (on_done) on_done(cache::StoreStatus::kUnavailable);
           });
           return;
         }
         writeVersions(shared, std::string(textOf(reply)), state, on_done);
       });
  return cache::Pending(state);
}

void ClusterStore::writeVersions(std::shared_ptr<const cache::Invalidation> invalidation, std::string epoch,
                                 std::shared_ptr<cache::PendingState> state, StatusCallback on_done) {
  auto countdown = std::make_shared<Countdown>();
  countdown->remaining = invalidation->version_keys.size();
  const std::string version_ttl = std::to_string(invalidation->version_ttl.count());
  for (size_t i = 0; i < invalidation->version_keys.size(); ++i) {
    std::string head = epoch + cache::kEpochSeparator + invalidation->tokens[i];
    auto build = [invalidation, i, head = std::move(head), version_ttl](const RedisConnection& connection) {
      const std::string& key = invalidation->version_keys[i];
      const std::string tag = generationTag(connection.generation());
      if (invalidation->soft)
        return std::vector<std::string>{"EVAL", std::string(kSoftScript), "1", key, tag, head,
                                        std::to_string(cache::kSoftChainLength), version_ttl};
      return std::vector<std::string>{"SET", key, tag + head, "PX", version_ttl};
    };
    send(invalidation->version_keys[i], std::move(build),
         [this, invalidation, countdown, state, on_done](const redisReply* reply, Failure failure,
                                                         const RedisConnection*) {
           const bool ok = isOk(reply) || (reply != nullptr && reply->type == REDIS_REPLY_INTEGER);
           if (reply != nullptr && !ok && !isWriteRefusal(reply))
             LOG_WARN("redis cluster: version write answered {}",
                      reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "an unexpected type");
           recordOutcome(ok, failure, reply);
           countdown->failed = countdown->failed || !ok;
           if (--countdown->remaining != 0) return;
           const bool landed = !countdown->failed;
           // Other instances drop their tiers' copies (cache/memory_tier.h),
           // once every key holds its new token.
           if (landed && !options_.invalidation_channel.empty())
             announce(encodeInvalidationMessage(invalidation->version_keys));
           const auto status = landed ? cache::StoreStatus::kOk : cache::StoreStatus::kUnavailable;
           deliver(state, [on_done, status] {
             if (on_done) on_done(status);
           });
         });
  }
}

// SPUBLISH (Redis 7) to the shard of the channel's slot, routed like a key
// (MOVED and ASK followed), where ClusterShardSubscriber listens. When it
// cannot be delivered there (the map still names a master that just died,
// the shard is failing over), the notice is not dropped: it goes by PUBLISH
// to any node, which the cluster bus takes to every node's subscribers, and
// ClusterShardSubscriber always subscribes with SUBSCRIBE too. (Delivered
// twice, when a late SPUBLISH did land, it only drops a copy twice.) Before
// Redis 7 (SPUBLISH unknown), PUBLISH from then on.
void ClusterStore::announce(std::string message) {
  auto publish = [this](std::string text) {
    router_.sendAny({"PUBLISH", options_.invalidation_channel, std::move(text)},
                    [](const redisReply*, Failure, const RedisConnection*) {});
  };
  if (!sharded_publish_) {
    publish(std::move(message));
    return;
  }
  auto shared = std::make_shared<const std::string>(std::move(message));
  auto build = [this, shared](const RedisConnection&) {
    return std::vector<std::string>{"SPUBLISH", options_.invalidation_channel, *shared};
  };
  router_.send(options_.invalidation_channel, std::move(build),
               [this, shared, publish](const redisReply* reply, Failure, const RedisConnection*) {
                 if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) return;
                 if (reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
                     textOf(reply).find("unknown command") != std::string_view::npos) {
                   LOG_INFO("redis cluster: SPUBLISH is not supported; invalidations go by PUBLISH");
                   sharded_publish_ = false;
                 }
                 publish(*shared);
               });
}

cache::Pending ClusterStore::remove(std::vector<std::string> keys, StatusCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  if (keys.empty()) {
    deliver(state, [on_done] {
      if (on_done) on_done(cache::StoreStatus::kOk);
    });
    return cache::Pending(state);
  }
  auto countdown = std::make_shared<Countdown>();
  countdown->remaining = keys.size();
  for (auto& key : keys) {
    if (copies_.isEnabled()) copies_.drop(LocalCopies::hashOf(key));  // only memory: lookups check tags
    auto build = [key](const RedisConnection&) { return std::vector<std::string>{"DEL", key}; };
    send(std::move(key), std::move(build),
         [this, countdown, state, on_done](const redisReply* reply, Failure failure, const RedisConnection*) {
           const bool ok = reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
           recordOutcome(ok, failure);
           countdown->failed = countdown->failed || !ok;
           if (--countdown->remaining != 0) return;
           const auto status = countdown->failed ? cache::StoreStatus::kUnavailable : cache::StoreStatus::kOk;
           deliver(state, [on_done, status] {
             if (on_done) on_done(status);
           });
         });
  }
  return cache::Pending(state);
}

void ClusterStore::deliver(const std::shared_ptr<cache::PendingState>& state, std::function<void()> fn) {
  // Never inside a hiredis callback or inside the call (cache/store.h), and
  // never once the Pending is gone (STYLE L4).
  deferred_.post([state, fn = std::move(fn)] {
    if (!state->cancelled) fn();
  });
}

void ClusterStore::recordOutcome(bool ok, Failure failure, const redisReply* reply) {
  if (!ok && noteWriteRefusal(reply)) return;
  // As RedisStore; a node not ready yet (start-up, a node reconnecting after
  // a failover) fails fast without counting: its connection has already
  // seen the failure.
  const bool busy = failure == Failure::kLate || failure == Failure::kBusy;
  switch (breaker_.recordOutcome(ok, busy, router_.isReady())) {
    case CircuitBreaker::Change::kClosed:
      LOG_INFO("redis cluster: circuit closed");
      break;
    case CircuitBreaker::Change::kOpened:
      LOG_WARN("redis cluster: circuit open; bypassing Redis for {}ms", options_.breaker_cooldown.count());
      probe_timer_.start(options_.breaker_cooldown, [this] { probe(); });
      break;
    case CircuitBreaker::Change::kNone:
      break;
  }
  if (ok && !busy) probe_timer_.stop();
}

void ClusterStore::probe() {
  if (!breaker_.beginProbe()) return;
  router_.sendAny({"PING"}, [this](const redisReply* reply, Failure, const RedisConnection*) {
    switch (breaker_.recordProbe(reply != nullptr && reply->type == REDIS_REPLY_STATUS)) {
      case CircuitBreaker::Change::kClosed:
        LOG_INFO("redis cluster: circuit closed");
        break;
      case CircuitBreaker::Change::kOpened:
        probe_timer_.start(options_.breaker_cooldown, [this] { probe(); });
        break;
      case CircuitBreaker::Change::kNone:
        break;
    }
  });
}

}  // namespace larder::store
