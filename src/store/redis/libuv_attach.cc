// First: sds.h (hiredis's strings, which its reader buffers in) has no
// extern "C" of its own, and hiredis.h includes it outside of its own.
extern "C" {
#include <hiredis/sds.h>
}

#include "store/redis/libuv_attach.h"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/metric_catalog.h"

namespace larder::store {
namespace {

// One read asks for at least this much room: a 64 KiB value arrives in one
// read instead of four 16 KiB ones, each a loop turn.
constexpr size_t kReadRoom = 64 * 1024;
// Reads in one poll callback stop after this much, so that one connection
// streaming a large reply does not hold the loop for long.
constexpr size_t kReadBudget = 1024 * 1024;

// The adapter's state, owned by the context (freed through cleanup()).
struct Events {
  redisAsyncContext* context;  // null once hiredis has let go of it
  RedisIoObserver* observer;
  uv_poll_t handle;
  int events;
};

void onClose(uv_handle_t* handle) { std::free(handle->data); }

// Exported by hiredis 0.14 but declared only from 1.0 on: parses what the
// reader holds and runs the reply callbacks (redisAsyncHandleRead's second
// half).
extern "C" void redisProcessCallbacks(redisAsyncContext* context);

// What readIntoReader() found.
struct ReadResult {
  size_t bytes = 0;
  bool leave_to_hiredis = false;  // end of file, an error, or not connected yet
};

// Reads what the socket has straight into the reader's buffer, with no
// intermediate copy. End of file and errors are left to hiredis: its own
// read sees them again and disconnects as usual.
ReadResult readIntoReader(Events* events) {
  ReadResult result;
  redisContext* c = &events->context->c;
  redisReader* reader = c->reader;
  if ((c->flags & REDIS_CONNECTED) == 0 || reader == nullptr || reader->err != 0) {
    result.leave_to_hiredis = true;
    return result;
  }
  if (reader->len == 0 && sdsalloc(reader->buf) > kKeptReaderBuffer) {
    sdsfree(reader->buf);
    reader->buf = sdsempty();
    reader->pos = 0;
  }
  while (result.bytes < kReadBudget) {
    sds grown = reader->buf != nullptr ? sdsMakeRoomFor(reader->buf, kReadRoom) : nullptr;
    if (grown == nullptr) {
      result.leave_to_hiredis = true;  // out of memory: hiredis reports it
      break;
    }
    reader->buf = grown;
    const size_t room = sdsavail(reader->buf);
    const ssize_t n = ::read(c->fd, reader->buf + sdslen(reader->buf), room);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    if (n <= 0) {
      result.leave_to_hiredis = true;
      break;
    }
    sdsIncrLen(reader->buf, static_cast<int>(n));
    reader->len = sdslen(reader->buf);
    result.bytes += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < room) break;  // the socket is drained
  }
  if (result.bytes > 0) {
    base::metrics::redis_bytes_read.inc(result.bytes);
    if (events->observer != nullptr) events->observer->onBytesRead(result.bytes);
  }
  return result;
}

void onPoll(uv_poll_t* handle, int status, int ready) {
  auto* events = static_cast<Events*>(handle->data);
  if (status != 0) return;
  if (events->context != nullptr && (ready & UV_READABLE) != 0) {
    const ReadResult read = readIntoReader(events);
    if (read.bytes > 0) redisProcessCallbacks(events->context);
    if (events->context != nullptr && read.leave_to_hiredis) redisAsyncHandleRead(events->context);
  }
  if (events->context != nullptr && (ready & UV_WRITABLE) != 0) {
    redisAsyncHandleWrite(events->context);
    if (events->context != nullptr && events->observer != nullptr &&
        sdslen(events->context->c.obuf) == 0) {
      events->observer->onOutputFlushed();
    }
  }
}

void setInterest(void* privdata, int interest) {
  auto* events = static_cast<Events*>(privdata);
  if (interest == events->events) return;
  events->events = interest;
  if (interest != 0) {
    uv_poll_start(&events->handle, interest, onPoll);
  } else {
    uv_poll_stop(&events->handle);
  }
}

void addRead(void* privdata) { setInterest(privdata, static_cast<Events*>(privdata)->events | UV_READABLE); }
void delRead(void* privdata) { setInterest(privdata, static_cast<Events*>(privdata)->events & ~UV_READABLE); }
void addWrite(void* privdata) { setInterest(privdata, static_cast<Events*>(privdata)->events | UV_WRITABLE); }
void delWrite(void* privdata) { setInterest(privdata, static_cast<Events*>(privdata)->events & ~UV_WRITABLE); }

void cleanup(void* privdata) {
  auto* events = static_cast<Events*>(privdata);
  events->context = nullptr;  // hiredis is freeing it
  uv_close(reinterpret_cast<uv_handle_t*>(&events->handle), onClose);
}

bool attach(redisAsyncContext* context, uv_loop_t* loop, RedisIoObserver* observer) {
  auto* events = static_cast<Events*>(std::calloc(1, sizeof(Events)));
  if (events == nullptr) return false;
  if (uv_poll_init(loop, &events->handle, context->c.fd) != 0) {
    std::free(events);
    return false;
  }
  events->context = context;
  events->observer = observer;
  events->handle.data = events;
  context->ev.data = events;
  context->ev.addRead = addRead;
  context->ev.delRead = delRead;
  context->ev.addWrite = addWrite;
  context->ev.delWrite = delWrite;
  context->ev.cleanup = cleanup;
  return true;
}

}  // namespace

redisAsyncContext* connectOnLoop(const RedisTarget& target, uv_loop_t* loop, void* owner,
                                 RedisIoObserver* observer, std::string& error) {
  // A literal IP: hiredis's getaddrinfo answers without a lookup.
  redisAsyncContext* context = target.unix_path.empty()
                                   ? redisAsyncConnect(target.ip.c_str(), target.port)
                                   : redisAsyncConnectUnix(target.unix_path.c_str());
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
  if (!attach(context, loop, observer)) {
    error = "cannot attach to the loop";
    redisAsyncFree(context);
    return nullptr;
  }
  // readIntoReader() manages the buffer's size; hiredis's own shrinking
  // would free it whenever a large reply was done.
  context->c.reader->maxbuf = 0;
  return context;
}

}  // namespace larder::store
