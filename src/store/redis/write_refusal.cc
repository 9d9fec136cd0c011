#include "store/redis/write_refusal.h"

#include <string_view>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "store/redis/reply_text.h"

namespace larder::store {

namespace {

struct Refusal {
  std::string_view code;  // the error's first word, with its space
  std::string_view fix;   // what to change in Redis
};

constexpr Refusal kRefusals[] = {
    {"OOM ", "a cache wants maxmemory-policy allkeys-lru, not noeviction"},
    {"MISCONF ", "its RDB saves fail: free its disk, or set stop-writes-on-bgsave-error no"},
    {"NOREPLICAS ", "fewer replicas answer than min-replicas-to-write asks for"},
};

const Refusal* refusalOf(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return nullptr;
  const std::string_view text = textOf(reply);
  for (const Refusal& refusal : kRefusals) {
    if (text.starts_with(refusal.code)) return &refusal;
    // Redis 6 wraps a script's error: "ERR Error running script ... -OOM ...".
    const size_t at = text.find(refusal.code);
    if (at != std::string_view::npos && at > 0 && text[at - 1] == '-') return &refusal;
  }
  return nullptr;
}

}  // namespace

bool isWriteRefusal(const redisReply* reply) { return refusalOf(reply) != nullptr; }

bool noteWriteRefusal(const redisReply* reply) {
  const Refusal* refusal = refusalOf(reply);
  if (refusal == nullptr) return false;
  base::metrics::redis_writes_refused.inc();
  LOG_WARN("redis refuses writes: {}; new answers are not stored, hits are still served ({})",
           textOf(reply), refusal->fix);
  return true;
}

}  // namespace larder::store
