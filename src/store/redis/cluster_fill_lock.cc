#include "store/redis/cluster_fill_lock.h"


#include "base/log.h"
#include "store/redis/redis_fill_lock.h"
#include "store/redis/reply_text.h"

namespace larder::store {
namespace {

// SET NX PX, and on a loss the PTTL the loser sleeps by, in one step on the
// key's node (cache/fill_lock.h: one round trip).
constexpr std::string_view kAcquireScript = R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return {1, tonumber(ARGV[2])} end
return {0, redis.call('PTTL', KEYS[1])}
)lua";

// Locks hold no versions: their connections need no generation; and a
// lock's commands are few, so one connection per node is enough.
RedisOptions lockOptions(RedisOptions options) {
  options.generation_key.clear();
  options.connections = 1;
  return options;
}

std::vector<ClusterNode> nonEmpty(std::vector<ClusterNode> seeds, const RedisOptions& options) {
  if (seeds.empty()) seeds.push_back({options.host, options.port});
  return seeds;
}

}  // namespace

const std::string& ClusterFillLock::acquireScript() {
  static const std::string script(kAcquireScript);
  return script;
}

ClusterFillLock::ClusterFillLock(net::Loop& loop, const RedisOptions& options, std::vector<ClusterNode> seeds,
                                 int index)
    : deferred_(loop),
      router_(loop, lockOptions(options), seeds, acquireScript()),
      subscriber_(loop, options, nonEmpty(std::move(seeds), options), index) {}

ClusterFillLock::~ClusterFillLock() = default;

cache::Pending ClusterFillLock::acquire(const cache::LockName& name, const std::string& token,
                                        std::chrono::milliseconds ttl, AcquireCallback on_done) {
  auto state = std::make_shared<cache::PendingState>();
  auto build = [key = name.key, token, ttl = std::to_string(ttl.count())](const RedisConnection&) {
    return std::vector<std::string>{"EVAL", acquireScript(), "1", key, token, ttl};
  };
  // Runs inside hiredis, or inside send() when no node is ready: the
  // result is posted (cache/fill_lock.h: never inside the call).
  auto on_reply = [this, state, ttl, on_done = std::move(on_done)](
                      const redisReply* reply, RedisConnection::Failure, const RedisConnection*) {
    cache::LockAttempt result;
    const bool well_formed = reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                             reply->element[0]->type == REDIS_REPLY_INTEGER &&
                             reply->element[1]->type == REDIS_REPLY_INTEGER;
    if (well_formed && reply->element[0]->integer == 1) {
      result.status = cache::LockStatus::kAcquired;
    } else if (well_formed) {
      result.status = cache::LockStatus::kHeld;
      // -2: it expired in between; -1 (no TTL, not ours): wait a whole TTL.
      const long long pttl = reply->element[1]->integer;
      result.remaining = pttl >= 0 ? std::chrono::milliseconds(pttl) : pttl == -2 ? std::chrono::milliseconds(0) : ttl;
    } else if (reply != nullptr) {
      // An error reply (a key of another type, an ACL, CLUSTERDOWN): Redis
      // is up, so it is logged once, not counted as an outage.
      if (!error_logged_)
        LOG_WARN("redis cluster: fill lock acquire failed: {}",
                 reply->type == REDIS_REPLY_ERROR ? textOf(reply) : "an unexpected reply");
      error_logged_ = true;
    }
    deferred_.post([state, on_done, result] {
      if (!state->cancelled && on_done) on_done(result);
    });
  };
  router_.send(name.key, std::move(build), std::move(on_reply));
  return cache::Pending(state);
}

void ClusterFillLock::release(const cache::LockName& name, const std::string& token, cache::FillEnd end) {
  auto build = [key = name.key, token, channel = name.channel, notice = cache::encodeFillNotice(name.key, end),
                always = end == cache::FillEnd::kStored ? "1" : "0"](const RedisConnection&) {
    return std::vector<std::string>{"EVAL", RedisFillLock::releaseScript(), "1", key, token, channel, notice, always};
  };
  router_.send(name.key, std::move(build),
               [key = name.key](const redisReply* reply, RedisConnection::Failure, const RedisConnection*) {
                 if (reply == nullptr || reply->type == REDIS_REPLY_ERROR)
                   LOG_DEBUG("redis cluster: release of {} failed; it expires on its own", key);
               });
}

cache::Pending ClusterFillLock::watch(const cache::LockName& name, WatchCallback on_event) {
  return notices_.watch(name, std::move(on_event));
}

void ClusterFillLock::listen(const std::string& channel) { notices_.listen(channel); }

bool ClusterFillLock::isReady() const { return router_.isReady() && notices_.allSubscribed(); }

}  // namespace larder::store
