// RedisOptions: how a worker's RedisStore reaches Redis. app/ fills it from
// the configuration (store/ does not see config/).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/time.h"

namespace larder::net {
class Resolver;  // net/resolver.h
}

namespace larder::store {

class MasterAddress;  // store/redis/sentinel_watcher.h

struct RedisOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;  // when set, used instead of host and port
  // Looks up `host` (or the Sentinel master's host) when it is a name, on
  // every reconnect (store/redis/redis_endpoint.h); null: the system's
  // resolver. Tests answer for names with their own.
  net::Resolver* resolver = nullptr;
  // With Redis Sentinel: the master's address, followed across failovers;
  // when set, used instead of host and port.
  std::shared_ptr<const MasterAddress> master;
  std::string username;   // ACL user (Redis 6+); empty: `AUTH password`
  std::string password;   // empty: no AUTH
  int database = 0;       // SELECT when nonzero

  // A command's deadline, from the moment it is written to the socket (and
  // its longest wait inside larder before that); past it the caller gets
  // kUnavailable and the reply is discarded when it comes. A connection that
  // owes replies and receives nothing for this long is dropped.
  base::Duration command_timeout{25};
  // Connecting plus the handshake (AUTH, SELECT, SCRIPT LOAD).
  base::Duration connect_timeout{1000};
  int connections = 4;     // per worker; commands are pipelined on each
  int max_in_flight = 32;  // per connection: commands sent and not answered
  // Per connection: replies expected in flight, in bytes, estimated from the
  // replies seen so far (a larger one counts at once, smaller ones bring the
  // estimate down slowly); a single command always fits.
  uint64_t max_in_flight_bytes = 256 * 1024;
  int max_queued = 256;    // per connection: commands waiting inside larder
  // Per store: copies of entries of at least local_copies_min_size bytes,
  // asked after by tag (store/redis/local_copies.h); 0 bytes: off.
  uint64_t local_copies_size = 0;
  uint64_t local_copies_min_size = 16 * 1024;
  // Where invalidations are announced to other instances' tiers; empty: not.
  std::string invalidation_channel;
  // The generation key (store/redis/generation.h): names the Redis server
  // run whose data the cache trusts. Empty: no generation check (a
  // connection that only takes locks).
  std::string generation_key = "v1:generation";
  // A Redis Cluster node (store/redis/cluster_store.h): the generation is
  // the node's own run_id, read without a key (generation_key only says
  // that there is one).
  bool cluster_node = false;

  int breaker_failures = 5;               // consecutive failures that open it
  base::Duration breaker_cooldown{1000};  // open this long before a probe

  base::Duration reconnect_min{100};  // backoff doubles from min to max
  base::Duration reconnect_max{2000};
};

}  // namespace larder::store
