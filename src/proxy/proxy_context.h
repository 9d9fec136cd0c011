// What a worker lends to every connection and exchange on its loop. Owned by
// the Worker; outlives every ClientConnection.
#pragma once

#include "cache/coalescer.h"
#include "cache/fill_lock.h"
#include "cache/invalidation_backlog.h"
#include "cache/memory_tier.h"
#include "cache/surrogate_keys.h"
#include "cache/vary.h"
#include "cache/store.h"
#include "config/config.h"
#include "net/loop.h"
#include "upstream/pool.h"

namespace larder::proxy {

class FillFetches;

struct ProxyContext {
  net::Loop& loop;
  upstream::Pool& pool;
  // The snapshot new exchanges take; replaced on reload, on the loop thread.
  config::ConfigPtr config;
  // This worker's cache backend (Redis, or the shared memory store).
  cache::Store& store;
  // Process-wide invalidations waiting to be retried.
  cache::InvalidationBacklog& backlog;
  // Process-wide fills in flight (DESIGN invariant 9).
  cache::Coalescer& coalescer;
  // Process-wide: which request fields each resource's upstream varies on.
  cache::VaryMemo& vary_memo;
  // Process-wide: hot entries of the routes with memory_ttl.
  cache::MemoryTier& tier;
  // Process-wide: which surrogate keys each entry key's last answer named.
  cache::SurrogateMemo& surrogate_memo;
  // This worker's queue: how other workers' fills wake our waiters. They
  // are handed queue.sender(), never the queue: the worker may stop first
  // (net/loop.h, app/worker.h).
  net::CrossThreadQueue& queue;
  // This worker's fetches for the cache: every miss's and every background
  // refresh's (proxy/fill_fetch.h). They belong to no request.
  FillFetches& fetches;
  // This worker's distributed fill lock; null without Redis or when
  // cache.distributed_lock was off at start (config decides per request).
  cache::FillLock* fill_lock = nullptr;
};

}  // namespace larder::proxy
