// RedisOptions: how a worker's RedisStore reaches Redis. app/ fills it from
// the configuration (store/ does not see config/).
#pragma once

#include <cstdint>
#include <string>

#include "base/time.h"

namespace larder::store {

struct RedisOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  std::string unix_path;  // when set, used instead of host and port
  std::string username;   // ACL user (Redis 6+); empty: `AUTH password`
  std::string password;   // empty: no AUTH
  int database = 0;       // SELECT when nonzero

  // Every command gets this deadline; past it the connection is dropped and
  // the command fails with kUnavailable (hiredis has no command timeouts).
  base::Duration command_timeout{25};
  // Connecting plus the handshake (AUTH, SELECT, SCRIPT LOAD).
  base::Duration connect_timeout{1000};
  int connections = 2;  // per worker; commands are pipelined on each
  // Where invalidations are announced to other instances' tiers; empty: not.
  std::string invalidation_channel;

  int breaker_failures = 5;               // consecutive failures that open it
  base::Duration breaker_cooldown{1000};  // open this long before a probe

  base::Duration reconnect_min{100};  // backoff doubles from min to max
  base::Duration reconnect_max{2000};
};

}  // namespace larder::store
