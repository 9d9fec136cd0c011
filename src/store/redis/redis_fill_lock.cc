#include "store/redis/redis_fill_lock.h"

#include <optional>

#include "base/log.h"
#include "store/redis/reply_text.h"

namespace larder::store {
namespace {

// Compare-and-delete, then the notice. One script, so no other owner can
// take the lock between the check and the delete.
constexpr std::string_view kReleaseScript = R"lua(
local owner = redis.call('GET', KEYS[1]) == ARGV[1]
if owner then redis.call('DEL', KEYS[1]) end
if owner or ARGV[4] == '1' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
if owner then return 1 end
return 0
)lua";

// Locks hold no versions: their connection needs no generation.
RedisOptions withoutGeneration(RedisOptions options) {
  options.generation_key.clear();
  return options;
}

}  // namespace

const std::string& RedisFillLock::releaseScript() {
  static const std::string script(kReleaseScript);
  return script;
}

RedisFillLock::RedisFillLock(net::Loop& loop, const RedisOptions& options, int index)
    : deferred_(loop),
      connection_(loop, withoutGeneration(options), {releaseScript()}, index),
      subscriber_(loop, options, index) {}

RedisFillLock::~RedisFillLock() = default;

cache::Pending RedisFillLock::acquire(const cache::LockName& name, const std::string& token,
                                      std::chrono::milliseconds ttl, AcquireCallback on_done) {
  // The two replies of one attempt; the last one completes it.
  struct Attempt {
    std::shared_ptr<cache::PendingState> state = std::make_shared<cache::PendingState>();
    AcquireCallback on_done;
    std::chrono::milliseconds ttl;
    int replies = 2;
    std::optional<bool> won;  // nullopt: SET failed
    std::optional<long long> pttl;
  };
  auto attempt = std::make_shared<Attempt>();
  attempt->on_done = std::move(on_done);
  attempt->ttl = ttl;
  auto finish = [this, attempt] {
    if (--attempt->replies > 0) return;
    cache::LockAttempt result;
    if (!attempt->won) {
      result.status = cache::LockStatus::kUnavailable;
    } else if (*attempt->won) {
      result.status = cache::LockStatus::kAcquired;
    } else {
      result.status = cache::LockStatus::kHeld;
      // -2: it expired in between; -1 (no TTL, not ours) or no answer: wait a whole TTL.
      const long long pttl = attempt->pttl.value_or(-1);
      result.remaining = pttl >= 0 ? std::chrono::milliseconds(pttl)
                         : pttl == -2 ? std::chrono::milliseconds(0)
                                      : attempt->ttl;
    }
    deferred_.post([attempt, result] {
      if (!attempt->state->cancelled && attempt->on_done) attempt->on_done(result);
    });
  };
  RedisConnection::ReplyCallback on_set = [this, attempt, finish](const redisReply* reply, RedisConnection::Failure) {
    if (reply != nullptr && reply->type == REDIS_REPLY_STATUS && textOf(reply) == "OK") {
      attempt->won = true;
    } else if (reply != nullptr && reply->type == REDIS_REPLY_NIL) {
      attempt->won = false;
    } else if (reply != nullptr) {
      // An error reply (a key of another type, an ACL): Redis is up, so it
      // is logged once, not counted as an outage.
      if (!error_logged_) LOG_WARN("redis: fill lock SET failed: {}", textOf(reply));
      error_logged_ = true;
    }
    finish();
  };
  RedisConnection::ReplyCallback on_pttl = [attempt, finish](const redisReply* reply, RedisConnection::Failure) {
    if (reply != nullptr && reply->type == REDIS_REPLY_INTEGER) attempt->pttl = reply->integer;
    finish();
  };
  const std::string ttl_text = std::to_string(ttl.count());
  // One connection: the two commands leave together and answer in order.
  if (!connection_.send({"SET", name.key, token, "NX", "PX", ttl_text}, std::move(on_set)))
    on_set(nullptr, RedisConnection::Failure::kLost);
  if (!connection_.send({"PTTL", name.key}, std::move(on_pttl))) on_pttl(nullptr, RedisConnection::Failure::kLost);
  return cache::Pending(attempt->state);
}

void RedisFillLock::release(const cache::LockName& name, const std::string& token,
                            cache::FillEnd end) {
  auto args = std::make_shared<const std::vector<std::string>>(std::vector<std::string>{
      name.key, token, name.channel, cache::encodeFillNotice(name.key, end),
      end == cache::FillEnd::kStored ? "1" : "0"});
  sendRelease(std::move(args), true);
}

void RedisFillLock::sendRelease(std::shared_ptr<const std::vector<std::string>> args,
                                bool by_sha) {
  std::vector<std::string_view> argv{by_sha ? "EVALSHA" : "EVAL"};
  argv.emplace_back(by_sha ? std::string_view(connection_.scriptSha())
                           : std::string_view(releaseScript()));
  argv.emplace_back("1");
  for (const auto& arg : *args) argv.emplace_back(arg);
  RedisConnection::ReplyCallback on_reply = [this, args, by_sha](const redisReply* reply, RedisConnection::Failure) {
    if (by_sha && reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
        textOf(reply).starts_with("NOSCRIPT")) {
      sendRelease(args, false);  // the script cache was flushed since the handshake
      return;
    }
    if (reply == nullptr || reply->type == REDIS_REPLY_ERROR)
      LOG_DEBUG("redis: release of {} failed; it expires on its own", (*args)[0]);
  };
  if (!connection_.send(argv, std::move(on_reply)))
    LOG_DEBUG("redis: cannot release {} now; it expires on its own", (*args)[0]);
}

cache::Pending RedisFillLock::watch(const cache::LockName& name, WatchCallback on_event) {
  return notices_.watch(name, std::move(on_event));
}

void RedisFillLock::listen(const std::string& channel) { notices_.listen(channel); }

bool RedisFillLock::isReady() const { return connection_.isReady() && notices_.allSubscribed(); }

}  // namespace larder::store
