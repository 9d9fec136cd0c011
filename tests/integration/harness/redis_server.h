// The suite's RedisServer (common/redis_server.h), plus what the integration
// tests need to know about larder's own connections to it.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
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

// INFO commandstats as command name (lower case, e.g. "evalsha") -> calls.
inline std::map<std::string, int64_t> commandCalls(RedisServer& redis) {
  RedisReply reply = redis.command({"INFO", "commandstats"});
  REQUIRE(reply.type == RedisReply::Type::kBulk);
  std::map<std::string, int64_t> calls;
  size_t at = 0;
  const std::string& text = reply.str;
  while (at < text.size()) {
    size_t end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    at = end + 1;
    constexpr std::string_view kPrefix = "cmdstat_";
    if (line.substr(0, kPrefix.size()) != kPrefix) continue;
    size_t colon = line.find(':');
    size_t calls_at = line.find("calls=");
    if (colon == std::string_view::npos || calls_at == std::string_view::npos) continue;
    std::string name(line.substr(kPrefix.size(), colon - kPrefix.size()));
    calls[name] = std::stoll(std::string(line.substr(calls_at + 6, line.find(',', calls_at) - calls_at - 6)));
  }
  return calls;
}

}  // namespace larder::test
