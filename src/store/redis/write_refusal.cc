#include "store/redis/write_refusal.h"

#include <string_view>

#include "base/log.h"
#include "base/metric_catalog.h"
#include "store/redis/reply_text.h"

namespace larder::store {

bool isWriteRefusal(const redisReply* reply) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ERROR) return false;
  const std::string_view text = textOf(reply);
  for (const std::string_view code : {"OOM ", "MISCONF ", "NOREPLICAS "}) {
    if (text.starts_with(code)) return true;
    // Redis 6 wraps a script's error: "ERR Error running script ... -OOM ...".
    const size_t at = text.find(code);
    if (at != std::string_view::npos && at > 0 && text[at - 1] == '-') return true;
  }
  return false;
}

bool noteWriteRefusal(const redisReply* reply) {
  if (!isWriteRefusal(reply)) return false;
  base::metrics::redis_writes_refused.inc();
  LOG_WARN(
      "redis refuses writes: {}; entries are not stored and writes wait in the backlog, hits are "
      "still served (a cache wants maxmemory-policy allkeys-lru, not noeviction)",
      textOf(reply));
  return true;
}

}  // namespace larder::store
