// Opens a hiredis async context on a libuv loop: hiredis's own libuv
// adapter, with its event hooks made idempotent. Shared by RedisConnection
// and RedisSubscriber.
//
// Why the hooks: hiredis 0.14 asks for write interest on every command and
// for read interest after every read and write, and the stock adapter
// answers each request with uv_poll_start, which in libuv 1.44 first removes
// the fd from epoll (an EPOLL_CTL_DEL syscall, then an ADD on the next
// turn). On the hit path that was one or two epoll_ctl calls per request;
// here a hook only touches the poll handle when the interest changes.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

#include <string>

#include "store/redis/redis_options.h"

namespace larder::store {

// Starts connecting to `options`' address (TCP or unix socket), attached to
// `loop`, with `owner` as the context's data. nullptr, with `error` saying
// why, if that failed at once; nothing is left to free then.
redisAsyncContext* connectOnLoop(const RedisOptions& options, uv_loop_t* loop, void* owner,
                                 std::string& error);

// "host:port#index" or "path#index", for logs.
std::string describeRedis(const RedisOptions& options, int index);

}  // namespace larder::store
