// Attaches a hiredis async context to a libuv loop: hiredis's own libuv
// adapter, with its event hooks made idempotent.
//
// Why: hiredis 0.14 asks for write interest on every command and for read
// interest after every read and write, and the stock adapter answers each
// request with uv_poll_start, which in libuv 1.44 first removes the fd from
// epoll (an EPOLL_CTL_DEL syscall, then an ADD on the next turn). On the hit
// path that was one or two epoll_ctl calls per request; here a hook only
// touches the poll handle when the interest actually changes.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

namespace larder::store {

// REDIS_OK or REDIS_ERR, as redisLibuvAttach.
int attachToLoop(redisAsyncContext* context, uv_loop_t* loop);

}  // namespace larder::store
