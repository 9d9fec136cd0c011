#include "store/redis/libuv_attach.h"

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

int attachToLoop(redisAsyncContext* context, uv_loop_t* loop) {
  if (redisLibuvAttach(context, loop) != REDIS_OK) return REDIS_ERR;
  context->ev.addRead = addRead;
  context->ev.delRead = delRead;
  context->ev.addWrite = addWrite;
  context->ev.delWrite = delWrite;
  return REDIS_OK;
}

}  // namespace larder::store
