// Write refusals: the errors by which a live Redis refuses a write while it
// still serves reads. Full under maxmemory-policy noeviction (OOM), unable
// to persist with stop-writes-on-bgsave-error (MISCONF), or short of the
// replicas min-replicas-to-write asks for (NOREPLICAS).
//
// Not a Redis failure: the write fails (an insert is not stored, an
// invalidation stays in its caller's backlog), but the breaker must not
// open on it, since that would send every hit to the origin while Redis
// could still serve them (issue 13: never collapse onto the origin).
#pragma once

#include <hiredis/hiredis.h>

namespace larder::store {

bool isWriteRefusal(const redisReply* reply);

// For a write refusal: counts it (larder_redis_writes_refused_total), logs
// what to change in Redis, and returns true. False for any other reply.
bool noteWriteRefusal(const redisReply* reply);

}  // namespace larder::store
