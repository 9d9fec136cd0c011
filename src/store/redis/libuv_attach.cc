#include "store/redis/libuv_attach.h"

#include <fmt/format.h>
#include <hiredis/adapters/libuv.h>

namespace larder::store {
namespace {

// The adapter's state (redisLibuvEvents): `events` is the interest the poll
// handle was last started with.
void setInterest(void* privdata, int events) {
  auto* state = static_cast<redisLibuvEvents*>(privdata);
  if (events == state->events) return;
  state->events = events;
  if (events != 0) {
    uv_poll_start(&state->handle, events, redisLibuvPoll);
  } else {
    uv_poll_stop(&state->handle);
  }
}

void addRead(void* privdata) {
  setInterest(privdata, static_cast<redisLibuvEvents*>(privdata)->events | UV_READABLE);
}
void delRead(void* privdata) {
  setInterest(privdata, static_cast<redisLibuvEvents*>(privdata)->events & ~UV_READABLE);
}
void addWrite(void* privdata) {
  setInterest(privdata, static_cast<redisLibuvEvents*>(privdata)->events | UV_WRITABLE);
}
void delWrite(void* privdata) {
  setInterest(privdata, static_cast<redisLibuvEvents*>(privdata)->events & ~UV_WRITABLE);
}

}  // namespace

redisAsyncContext* connectOnLoop(const RedisOptions& options, uv_loop_t* loop, void* owner,
                                 std::string& error) {
  redisAsyncContext* context = options.unix_path.empty()
                                   ? redisAsyncConnect(options.host.c_str(), options.port)
                                   : redisAsyncConnectUnix(options.unix_path.c_str());
  if (context == nullptr) {
    error = "cannot allocate a connection";
    return nullptr;
  }
  if (context->err != 0) {
    // Refused at once (a unix socket, or a local port with nobody on it).
    // No callback is registered yet, so freeing it here calls nothing.
    error = fmt::format("connect failed: {}", context->errstr);
    redisAsyncFree(context);
    return nullptr;
  }
  context->data = owner;
  if (redisLibuvAttach(context, loop) != REDIS_OK) {
    // The adapter installs its cleanup hook before it can fail, and that
    // hook would dereference the missing event data: unhook it first.
    context->ev.cleanup = nullptr;
    error = "cannot attach to the loop";
    redisAsyncFree(context);
    return nullptr;
  }
  context->ev.addRead = addRead;
  context->ev.delRead = delRead;
  context->ev.addWrite = addWrite;
  context->ev.delWrite = delWrite;
  return context;
}

std::string describeRedis(const RedisOptions& options, int index) {
  if (!options.unix_path.empty()) return fmt::format("{}#{}", options.unix_path, index);
  return fmt::format("{}:{}#{}", options.host, options.port, index);
}

}  // namespace larder::store
