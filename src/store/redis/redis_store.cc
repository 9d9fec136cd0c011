#include "store/redis/redis_store.h"

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

// Checks every expectation before writing anything, so a refused insert
// writes nothing. GET on a key of another type raises an error: the reply is
// then an error and the store reports kUnavailable. The generation key is
// the last key and the generation the lookup saw the last argument: another
// generation refuses with -1 (store/redis/generation.h), and a version value
// of another generation counts as absent.
constexpr std::string_view kInsertScript = R"lua(
local n = #KEYS - 2
local generation = ARGV[#ARGV]
if redis.call('GET', KEYS[#KEYS]) ~= generation then return -1 end
local tag = generation .. '/'
for i = 1, n do
  local current = redis.call('GET', KEYS[i + 1])
  if current and string.sub(current, 1, #tag) ~= tag then current = false end
  if ARGV[3 + 2 * i] == '1' then
    if current then return 0 end
  elseif current ~= tag .. ARGV[2 + 2 * i] then
    return 0
  end
end
local version_ttl = tonumber(ARGV[3])
for i = 1, n do
  local key = KEYS[i + 1]
  if ARGV[3 + 2 * i] == '1' then
    redis.call('SET', key, tag .. ARGV[2 + 2 * i], 'PX', version_ttl)
  elseif redis.call('PTTL', key) < version_ttl then
    redis.call('PEXPIRE', key, version_ttl)
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua";

// Advances the epoch and writes the tokens in one step (cache/store.h): a
// lookup sees either none of it or all of it. Lua numbers are doubles, exact
// up to 2^53 microseconds (year 2255). Sent with EVAL: invalidations are rare
// next to lookups, and EVAL never meets NOSCRIPT. KEYS: epoch, versions...,
// the generation key; ARGV: version ttl, epoch ttl, a token per version, the
// generation key's ttl. The tokens are tagged with this server's generation,
// computed here (store/redis/generation.h): an invalidation always lands in
// the generation lookups read.
const std::string& invalidateScript() {
  static const std::string script = std::string(generationLua()) + R"lua(
local n = #KEYS - 2
local generation = larder_generation(KEYS[#KEYS], ARGV[#ARGV])
local now = redis.call('TIME')
local epoch = tonumber(now[1]) * 1000000 + tonumber(now[2])
local previous = redis.call('GET', KEYS[1])
previous = previous and tonumber(string.match(previous, '(%d+)$'))
if previous and previous >= epoch and previous < 9007199254740000 then epoch = previous + 1 end
local text = string.format('%.0f', epoch)
redis.call('SET', KEYS[1], generation .. '/' .. text, 'PX', ARGV[2])
for i = 2, n + 1 do
  redis.call('SET', KEYS[i], generation .. '/' .. text .. '.' .. ARGV[i + 1], 'PX', ARGV[1])
end
return text
)lua";
  return script;
}

// The same, soft (cache/soft_purge.h): each key gets its new head followed
// by the heads its previous value of this generation listed,
// kSoftChainLength (ARGV[3]) in all, read and written in the one atomic
// step. KEYS as above; ARGV: version ttl, epoch ttl, chain length, a token
// per version, the generation key's ttl.
const std::string& softInvalidateScript() {
  static const std::string script = std::string(generationLua()) + R"lua(
local n = #KEYS - 2
local generation = larder_generation(KEYS[#KEYS], ARGV[#ARGV])
local tag = generation .. '/'
local now = redis.call('TIME')
local epoch = tonumber(now[1]) * 1000000 + tonumber(now[2])
local previous = redis.call('GET', KEYS[1])
previous = previous and tonumber(string.match(previous, '(%d+)$'))
if previous and previous >= epoch and previous < 9007199254740000 then epoch = previous + 1 end
local text = string.format('%.0f', epoch)
local length = tonumber(ARGV[3])
redis.call('SET', KEYS[1], tag .. text, 'PX', ARGV[2])
for i = 2, n + 1 do
  local value = tag .. text .. '.' .. ARGV[i + 2]
  local current = redis.call('GET', KEYS[i])
  if current and string.sub(current, 1, #tag) == tag then
    local kept = 1
    for head in string.gmatch(string.sub(current, #tag + 1), '[^~]+') do
      if kept >= length then break end
      value = value .. '~' .. head
      kept = kept + 1
    end
  end
  redis.call('SET', KEYS[i], value, 'PX', ARGV[1])
end
return text
)lua";
  return script;
}

// The generation a command goes out under, shared with the connection
// rather than copied (see RedisConnection::sharedGeneration()).
std::shared_ptr<const std::string> generationOf(const RedisConnection* connection) {
  static const auto kNoGeneration = std::make_shared<const std::string>();
  return connection != nullptr ? connection->sharedGeneration() : kNoGeneration;
}

bool isNoScript(const redisReply* reply) {
  return reply != nullptr && reply->type == REDIS_REPLY_ERROR && textOf(reply).starts_with("NOSCRIPT");
}

// The MGET reads the generation key first, then the versions and the
// entry. `mismatch` is set when the generation is not `generation` (the
// caller bypasses and the connection learns the new one).
cache::LookupResult parseLookup(const redisReply* reply, size_t version_count, bool with_entry,
                                const std::string& generation, bool& mismatch) {
  cache::LookupResult result;
  result.status = cache::StoreStatus::kUnavailable;
  if (reply == nullptr) return result;  // the connection logged why
  if (reply->type == REDIS_REPLY_ERROR) {
    LOG_WARN("redis: MGET failed: {}", textOf(reply));
    return result;
  }
  if (reply->type != REDIS_REPLY_ARRAY ||
      reply->elements != 1 + version_count + (with_entry ? 1 : 0)) {
    LOG_WARN("redis: MGET returned an unexpected reply (type {})", reply->type);
    return result;
  }
  const redisReply* read_generation = reply->element[0];
  if (read_generation->type != REDIS_REPLY_STRING || textOf(read_generation) != generation) {
    mismatch = true;
    return result;
  }
  // Versions are read without their generation tag (a value of another
  // generation reads as absent); the entry as it is, the last element.
  const size_t last = reply->elements - 1;
  result.versions.reserve(version_count);
  for (size_t i = 1; i < reply->elements; ++i) {
    const redisReply* element = reply->element[i];
    std::optional<std::string> value;
    if (element->type == REDIS_REPLY_STRING) {
      const std::string_view text = textOf(element);
      if (with_entry && i == last) {
        value.emplace(text);
      } else if (text.size() > generation.size() && text.starts_with(generation) &&
                 text[generation.size()] == '/') {
        value.emplace(text.substr(generation.size() + 1));
      }
    } else if (element->type != REDIS_REPLY_NIL) {
      LOG_WARN("redis: MGET returned an element of type {}", element->type);
      result.versions.clear();
      return result;
    }
    if (with_entry && i == last) {
      result.entry = std::move(value);
    } else {
      result.versions.push_back(std::move(value));
    }
  }
  result.status = cache::StoreStatus::kOk;
  return result;
}

cache::InsertOutcome parseInsert(const redisReply* reply, bool& mismatch) {
  if (reply == nullptr) return cache::InsertOutcome::kUnavailable;
  if (reply->type == REDIS_REPLY_INTEGER && reply->integer == -1) {
    mismatch = true;  // what the lookup read is of another generation: not stored
    return cache::InsertOutcome::kVersionChanged;
  }
  if (reply->type == REDIS_REPLY_INTEGER) {
    return reply->integer == 1 ? cache::InsertOutcome::kStored
                               : cache::InsertOutcome::kVersionChanged;
  }
  if (reply->type == REDIS_REPLY_ERROR) {
    if (!isWriteRefusal(reply)) LOG_WARN("redis: insert script failed: {}", textOf(reply));
  } else {
    LOG_WARN("redis: insert script returned an unexpected reply (type {})", reply->type);
  }
  return cache::InsertOutcome::kUnavailable;
}

}  // namespace

const std::string& RedisStore::insertScript() {
  static const std::string script(kInsertScript);
  return script;
}

namespace {

RedisOptions withGenerationKey(RedisOptions options) {
  // Every RedisStore checks generations (store/redis/generation.h).
  if (options.generation_key.empty()) options.generation_key = RedisOptions().generation_key;
  return options;
}

}  // namespace

RedisStore::RedisStore(net::Loop& loop, RedisOptions options)
    : options_(withGenerationKey(std::move(options))),
      deferred_(loop),
      breaker_(options_.breaker_failures),
      probe_timer_(loop),
      copies_(options_.local_copies_size, options_.local_copies_min_size) {
  const int count = std::max(1, options_.connections);
  connections_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    connections_.push_back(std::make_unique<RedisConnection>(
        loop, options_, std::vector<std::string>{insertScript()}, i));
  }
}

RedisStore::~RedisStore() = default;

cache::Pending RedisStore::lookup(std::vector<std::string> version_keys, std::string entry_key,
                                  LookupCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  const bool with_entry = !entry_key.empty();
  if (version_keys.empty() && !with_entry) {
    deliver(state, [on_done = std::move(on_done)] {
      if (on_done) on_done(cache::LookupResult{});
    });
    return cache::Pending(state);
  }
  if (with_entry && copies_.isEnabled()) {
    const uint64_t key_hash = LocalCopies::hashOf(entry_key);
    lookupWithCopies(state, std::move(version_keys), std::move(entry_key), key_hash,
                     std::move(on_done), true);
    return cache::Pending(state);
  }
  sendLookup(state, version_keys, entry_key, EntryRead::kNoCopies, 0, std::move(on_done));
  return cache::Pending(state);
}

void RedisStore::lookupWithCopies(std::shared_ptr<cache::PendingState> state,
                                  std::vector<std::string> version_keys, std::string entry_key,
                                  uint64_t key_hash, LookupCallback on_done, bool may_wait) {
  if (LocalCopies::Bytes copy = copies_.find(key_hash)) {
    sendCopyLookup(std::make_shared<CopyLookup>(CopyLookup{std::move(state), std::move(version_keys),
                                                           std::move(entry_key), std::move(copy),
                                                           key_hash, std::move(on_done)}));
    return;
  }
  readEntry(std::move(state), std::move(version_keys), std::move(entry_key), key_hash,
            std::move(on_done), may_wait);
}

void RedisStore::readEntry(std::shared_ptr<cache::PendingState> state,
                           std::vector<std::string> version_keys, std::string entry_key,
                           uint64_t key_hash, LookupCallback on_done, bool may_wait) {
  if (!may_wait || !copies_.mayKeep(key_hash)) {
    sendLookup(state, version_keys, entry_key, EntryRead::kOffer, key_hash, std::move(on_done));
    return;
  }
  if (entry_reads_.isReading(key_hash)) {
    entry_reads_.wait(key_hash, [this, state, version_keys = std::move(version_keys),
                                 entry_key = std::move(entry_key), key_hash,
                                 on_done = std::move(on_done)](bool read_ok) mutable {
      if (state->cancelled) return;
      if (!read_ok) {
        deliver(state, [on_done = std::move(on_done)] {
          if (on_done) on_done(cache::LookupResult::unavailable());
        });
        return;
      }
      lookupWithCopies(std::move(state), std::move(version_keys), std::move(entry_key), key_hash,
                       std::move(on_done), false);
    });
    return;
  }
  entry_reads_.startReading(key_hash);
  sendLookup(state, version_keys, entry_key, EntryRead::kLead, key_hash, std::move(on_done));
}

void RedisStore::sendLookup(std::shared_ptr<cache::PendingState> state,
                            const std::vector<std::string>& version_keys, const std::string& entry_key,
                            EntryRead read, uint64_t key_hash, LookupCallback on_done) {
  const bool with_entry = !entry_key.empty();
  RedisConnection* connection = pick();
  std::shared_ptr<const std::string> generation = generationOf(connection);
  // The arguments are views, formatted before send() returns: the vector is
  // the store's, kept across lookups (taken out while in use, so that a
  // nested call would only allocate its own).
  std::vector<std::string_view> args = std::move(lookup_args_);
  args.clear();
  args.reserve(version_keys.size() + 3);
  args.emplace_back("MGET");
  args.emplace_back(options_.generation_key);
  for (const auto& key : version_keys) args.emplace_back(key);
  if (with_entry) args.emplace_back(entry_key);
  const size_t version_count = version_keys.size();
  send(connection, args,
       [this, state = std::move(state), version_count, with_entry, connection,
        generation = std::move(generation), read, key_hash,
        on_done = std::move(on_done)](const redisReply* reply, Failure failure) mutable {
         bool mismatch = false;
         cache::LookupResult result =
             parseLookup(reply, version_count, with_entry, *generation, mismatch);
         if (mismatch) {
           onGenerationMismatch(connection);
         } else {
           recordOutcome(result.status == cache::StoreStatus::kOk, failure);
         }
         const bool result_ok = result.status == cache::StoreStatus::kOk;
         if (read != EntryRead::kNoCopies && result_ok) {
           if (result.entry) {
             const bool wanted = read == EntryRead::kLead && entry_reads_.hasWaiters(key_hash);
             copies_.offer(key_hash, *result.entry, wanted);
           } else {
             copies_.drop(key_hash);
           }
         }
         deliver(state, [on_done = std::move(on_done), result = std::move(result)]() mutable {
           if (on_done) on_done(std::move(result));
         });
         if (read == EntryRead::kLead) {
           for (auto& retry : entry_reads_.finish(key_hash)) retry(result_ok);
         }
       });
  lookup_args_ = std::move(args);
}

void RedisStore::sendCopyLookup(std::shared_ptr<CopyLookup> lookup) {
  RedisConnection* connection = pick();
  std::shared_ptr<const std::string> generation = generationOf(connection);
  // The tail first, then the versions, pipelined on one connection (which
  // answers in order). A tag read before the versions is as good as one
  // read with them: an entry replaced after the tag was read carries other
  // recorded versions only if a write came between, and that write is in
  // the versions read after it (DESIGN invariant 3); an entry purged after
  // it was simply read before the purge.
  const std::string_view tag = cache::entryTagOf(*lookup->copy);
  const std::string tail_start = std::to_string(-static_cast<int64_t>(tag.size()));
  send(connection, {"GETRANGE", lookup->entry_key, tail_start, "-1"},
       [lookup, tag](const redisReply* reply, Failure failure) {
         lookup->tag_failure = failure;
         lookup->tag_answered = reply != nullptr;
         // Another type answers an error: no tag, and MGET reads it as nil.
         lookup->tag_matches = reply != nullptr && reply->type == REDIS_REPLY_STRING && !tag.empty() &&
                               textOf(reply) == tag;
       });
  std::vector<std::string_view> args;
  args.reserve(lookup->version_keys.size() + 2);
  args.emplace_back("MGET");
  args.emplace_back(options_.generation_key);
  for (const auto& key : lookup->version_keys) args.emplace_back(key);
  send(connection, args,
       [this, lookup, connection, generation = std::move(generation)](const redisReply* reply,
                                                                      Failure failure) {
         bool mismatch = false;
         cache::LookupResult result =
             parseLookup(reply, lookup->version_keys.size(), false, *generation, mismatch);
         if (mismatch) {
           onGenerationMismatch(connection);
         } else if (!lookup->tag_answered) {
           result = cache::LookupResult{};
           result.status = cache::StoreStatus::kUnavailable;
           recordOutcome(false, lookup->tag_failure);
         } else {
           recordOutcome(result.status == cache::StoreStatus::kOk, failure);
         }
         if (result.status == cache::StoreStatus::kOk && !lookup->tag_matches) {
           // Replaced, removed or of another type: the plain lookup reads
           // what the key holds now, and keeps or drops the copy by it;
           // unless another lookup's read already replaced the copy, whose
           // tag is then asked after (a burst after a write reads once).
           const LocalCopies::Bytes kept = copies_.find(lookup->key_hash);
           if (kept != nullptr && kept != lookup->copy) {
             lookupWithCopies(std::move(lookup->state), std::move(lookup->version_keys),
                              std::move(lookup->entry_key), lookup->key_hash, std::move(lookup->on_done), true);
           } else {
             readEntry(std::move(lookup->state), std::move(lookup->version_keys),
                       std::move(lookup->entry_key), lookup->key_hash, std::move(lookup->on_done), true);
           }
           return;
         }
         if (result.status == cache::StoreStatus::kOk) {
           result.entry = cache::EntryBytes::shared(lookup->copy);  // the kept bytes themselves
           base::metrics::redis_local_copy_hits.inc();
           base::metrics::redis_local_copy_bytes_saved.inc(lookup->copy->size());
         }
         deliver(lookup->state, [lookup, result = std::move(result)]() mutable {
           if (lookup->on_done) lookup->on_done(std::move(result));
         });
       });
}

void RedisStore::insert(cache::InsertRequest request, InsertCallback on_done) {
  if (!isValidInsert(request)) {
    if (on_done) deferred_.post([on_done] { on_done(cache::InsertOutcome::kUnavailable); });
    return;
  }
  // Kept until the reply: a NOSCRIPT answer resends it with EVAL.
  sendInsert(std::make_shared<const cache::InsertRequest>(std::move(request)), std::move(on_done),
             true);
}

void RedisStore::sendInsert(std::shared_ptr<const cache::InsertRequest> request,
                            InsertCallback on_done, bool by_sha) {
  RedisConnection* connection = pick();
  const std::string ttl = std::to_string(request->ttl.count());
  const std::string version_ttl = std::to_string(request->version_ttl.count());
  std::vector<std::string_view> args;
  const std::string generation = connection != nullptr ? connection->generation() : std::string();
  const std::string key_count = std::to_string(request->versions.size() + 2);
  args.reserve(8 + 3 * request->versions.size());
  args.emplace_back(by_sha ? "EVALSHA" : "EVAL");
  std::string_view script = insertScript();
  if (by_sha) script = connection != nullptr ? connection->scriptSha() : std::string_view();
  args.emplace_back(script);
  args.emplace_back(key_count);
  args.emplace_back(request->key);
  for (const auto& version : request->versions) args.emplace_back(version.key);
  args.emplace_back(options_.generation_key);
  args.emplace_back(request->value);
  args.emplace_back(ttl);
  args.emplace_back(version_ttl);
  for (const auto& version : request->versions) {
    args.emplace_back(version.token);
    args.emplace_back(version.create ? "1" : "0");
  }
  args.emplace_back(generation);
  send(connection, args,
       [this, request, on_done, by_sha, connection](const redisReply* reply, Failure failure) mutable {
    if (by_sha && isNoScript(reply)) {
      // The script cache was flushed (SCRIPT FLUSH, a restart between our
      // handshake and now): send the source, which also reloads it.
      LOG_DEBUG("redis: insert script missing; sending it with EVAL");
      sendInsert(std::move(request), std::move(on_done), false);
      return;
    }
    bool mismatch = false;
    const cache::InsertOutcome outcome = parseInsert(reply, mismatch);
    base::metrics::cache_inserts.add(static_cast<size_t>(outcome), 1);
    if (mismatch) {
      onGenerationMismatch(connection);
    } else {
      recordOutcome(outcome != cache::InsertOutcome::kUnavailable, failure, reply);
    }
    if (on_done) deferred_.post([on_done = std::move(on_done), outcome] { on_done(outcome); });
  });
}

cache::Pending RedisStore::invalidate(cache::Invalidation invalidation, StatusCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  const bool valid = isValidInvalidation(invalidation);
  if (!valid || invalidation.version_keys.empty()) {
    const auto status = valid ? cache::StoreStatus::kOk : cache::StoreStatus::kUnavailable;
    deliver(state, [on_done, status] {
      if (on_done) on_done(status);
    });
    return cache::Pending(state);
  }
  const std::string version_ttl = std::to_string(invalidation.version_ttl.count());
  const std::string epoch_ttl =
      std::to_string(std::max(invalidation.version_ttl, std::chrono::milliseconds(cache::kEpochTtl)).count());
  std::vector<std::string_view> args;
  const std::string generation_ttl = std::to_string(cache::kEpochTtl.count());
  args.reserve(8 + 2 * invalidation.version_keys.size());
  args.emplace_back("EVAL");
  args.emplace_back(invalidation.soft ? softInvalidateScript() : invalidateScript());
  const std::string key_count = std::to_string(invalidation.version_keys.size() + 2);
  args.emplace_back(key_count);
  args.emplace_back(invalidation.epoch_key);
  for (const auto& key : invalidation.version_keys) args.emplace_back(key);
  args.emplace_back(options_.generation_key);
  args.emplace_back(version_ttl);
  args.emplace_back(epoch_ttl);
  const std::string chain_length = std::to_string(cache::kSoftChainLength);
  if (invalidation.soft) args.emplace_back(chain_length);
  for (const auto& token : invalidation.tokens) args.emplace_back(token);
  args.emplace_back(generation_ttl);
  RedisConnection* connection = pick();
  send(connection, args,
       [this, state, on_done = std::move(on_done)](const redisReply* reply, Failure failure) {
    const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STRING;
    if (reply != nullptr && !ok && !isWriteRefusal(reply)) {
      LOG_WARN("redis: invalidation script failed: {}",
               reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "unexpected reply");
    }
    recordOutcome(ok, failure, reply);
    const auto status = ok ? cache::StoreStatus::kOk : cache::StoreStatus::kUnavailable;
    deliver(state, [on_done, status] {
      if (on_done) on_done(status);
    });
  });
  // Other instances drop their tiers' copies (cache/memory_tier.h). On the
  // same connection, so Redis runs it after the script: a copy dropped on
  // this notice and looked up again gets the new versions. A lost
  // announcement only costs memory_ttl.
  if (!options_.invalidation_channel.empty()) {
    const std::string message = encodeInvalidationMessage(invalidation.version_keys);
    send(connection, {"PUBLISH", options_.invalidation_channel, message},
         [](const redisReply*, Failure) {});
  }
  return cache::Pending(state);
}

cache::Pending RedisStore::remove(std::vector<std::string> keys, StatusCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  if (keys.empty()) {
    deliver(state, [on_done] {
      if (on_done) on_done(cache::StoreStatus::kOk);
    });
    return cache::Pending(state);
  }
  std::vector<std::string_view> args;
  args.reserve(keys.size() + 1);
  args.emplace_back("DEL");
  for (const auto& key : keys) {
    args.emplace_back(key);
    if (copies_.isEnabled()) copies_.drop(LocalCopies::hashOf(key));  // only memory: lookups check tags
  }
  send(pick(), args, [this, state, on_done](const redisReply* reply, Failure failure) {
    const bool ok = reply != nullptr && reply->type == REDIS_REPLY_INTEGER;
    if (reply != nullptr && !ok)
      LOG_WARN("redis: DEL returned an unexpected reply (type {})", reply->type);
    recordOutcome(ok, failure);
    const auto status = ok ? cache::StoreStatus::kOk : cache::StoreStatus::kUnavailable;
    deliver(state, [on_done, status] {
      if (on_done) on_done(status);
    });
  });
  return cache::Pending(state);
}

size_t RedisStore::readyConnectionsForTest() const {
  size_t ready = 0;
  for (const auto& connection : connections_) ready += connection->isReady() ? 1 : 0;
  return ready;
}

RedisConnection* RedisStore::pick() {
  if (!breaker_.isClosed()) return nullptr;
  // The current connection while a command sent on it goes out at once:
  // the commands of a loop turn then share a write and their replies a read
  // (small values: as few syscalls per hit as one pipelined connection).
  // When it is full (max_in_flight, or max_in_flight_bytes for large
  // values), the next one that has room. When none has, the least loaded,
  // and not one receiving a large reply while another is free (issue 13:
  // one big reply delays few requests).
  const size_t count = connections_.size();
  for (size_t i = 0; i < count; ++i) {
    RedisConnection* connection = connections_[(next_ + i) % count].get();
    if (connection->canSendNow() && !connection->isReceivingLargeReply()) {
      next_ = (next_ + i) % count;
      connected_once_ = true;
      return connection;
    }
  }
  RedisConnection* best = nullptr;
  size_t best_load = 0;
  for (size_t i = 0; i < count; ++i) {
    RedisConnection* connection = connections_[(next_ + i) % count].get();
    if (!connection->isReady()) continue;
    size_t load = connection->inFlight() + connection->queued();
    if (connection->isReceivingLargeReply()) load += static_cast<size_t>(options_.max_in_flight);
    if (best == nullptr || load < best_load) {
      best = connection;
      best_load = load;
    }
  }
  if (best != nullptr) connected_once_ = true;
  return best;
}

void RedisStore::send(RedisConnection* connection, const std::vector<std::string_view>& args,
                      RedisConnection::ReplyCallback on_reply) {
  bool busy = false;
  if (connection != nullptr && connection->send(args, std::move(on_reply), &busy)) return;
  if (busy) {
    // Every connection is at its bound: this one bypasses Redis rather than
    // wait (DESIGN invariant 5); Redis itself is fine.
    base::metrics::redis_dropped.add(0, 1);
    on_reply(nullptr, Failure::kBusy);
    return;
  }
  base::metrics::redis_skipped.inc();
  on_reply(nullptr, Failure::kLost);
}

void RedisStore::onGenerationMismatch(RedisConnection* connection) {
  // Redis answered, so it is up: this is no failure for the breaker. The
  // request bypasses; the connection learns the generation now current.
  base::metrics::redis_generation_mismatches.inc();
  connection->refreshGeneration();
}

void RedisStore::recordOutcome(bool ok, Failure failure, const redisReply* reply) {
  if (!ok && noteWriteRefusal(reply)) return;
  // Before the first connection is ready (start-up), requests fail fast
  // without touching Redis (CircuitBreaker::recordOutcome's `ready`).
  const bool busy = failure == Failure::kLate || failure == Failure::kBusy;
  switch (breaker_.recordOutcome(ok, busy, connected_once_)) {
    case CircuitBreaker::Change::kClosed:
      LOG_INFO("redis: circuit closed");
      break;
    case CircuitBreaker::Change::kOpened:
      onBreakerOpened(false);
      break;
    case CircuitBreaker::Change::kNone:
      break;
  }
  if (ok && !busy) probe_timer_.stop();
}

void RedisStore::onBreakerOpened(bool after_probe) {
  if (after_probe) {
    LOG_DEBUG("redis: probe failed; circuit stays open for {}ms",
              options_.breaker_cooldown.count());
  } else {
    LOG_WARN("redis: circuit open; bypassing Redis for {}ms", options_.breaker_cooldown.count());
  }
  probe_timer_.start(options_.breaker_cooldown, [this] { probe(); });
}

void RedisStore::probe() {
  if (!breaker_.beginProbe()) return;
  RedisConnection* ready = nullptr;
  for (const auto& connection : connections_) {
    if (connection->isReady()) {
      ready = connection.get();
      break;
    }
  }
  send(ready, {"PING"}, [this](const redisReply* reply, Failure) {
    switch (breaker_.recordProbe(reply != nullptr && reply->type == REDIS_REPLY_STATUS)) {
      case CircuitBreaker::Change::kClosed:
        LOG_INFO("redis: circuit closed");
        break;
      case CircuitBreaker::Change::kOpened:
        onBreakerOpened(true);
        break;
      case CircuitBreaker::Change::kNone:
        break;
    }
  });
}

}  // namespace larder::store
