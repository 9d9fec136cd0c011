// What a worker lends to every connection and exchange on its loop. Owned by
// the Worker; outlives every ClientConnection.
#pragma once

#include "cache/invalidation_backlog.h"
#include "cache/store.h"
#include "config/config.h"
#include "net/loop.h"
#include "upstream/pool.h"

namespace larder::proxy {

struct ProxyContext {
  net::Loop& loop;
  upstream::Pool& pool;
  // The snapshot new exchanges take; replaced on reload, on the loop thread.
  config::ConfigPtr config;
  // This worker's cache backend (Redis, or the shared memory store).
  cache::Store& store;
  // Process-wide invalidations waiting to be retried.
  cache::InvalidationBacklog& backlog;
};

}  // namespace larder::proxy
