// The suite's RedisServer (common/redis_server.h), plus what the integration
// tests need to know about larder's own connections to it.
#pragma once

#include <string>
#include <string_view>

#include "common/redis_server.h"
#include "harness/gate.h"

namespace larder::test {

// larder listens before its Redis connections are ready and bypasses the
// store until then: waits until n client connections (other than this
// harness's own) have finished their handshake (the generation EVAL last).
inline bool waitForRedisClients(RedisServer& redis, size_t n, Millis timeout = 10s) {
  return waitUntil(
      [&] {
        RedisReply list = redis.command({"CLIENT", "LIST"});
        size_t ready = 0;
        size_t at = 0;
        while ((at = list.str.find(" cmd=", at)) != std::string::npos) {
          at += 5;
          std::string_view cmd(list.str.data() + at, list.str.find(' ', at) - at);
          if (cmd != "client|list" && cmd != "NULL" && cmd != "auth" && cmd != "select") ++ready;
        }
        return ready >= n;
      },
      timeout);
}

}  // namespace larder::test
