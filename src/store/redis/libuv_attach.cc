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

// The adapter's state, owned by the context (freed through cleanup()).
struct Events {
  redisAsyncContext* context;  // null once hiredis has let go of it
  RedisIoObserver* observer;
  uv_poll_t handle;
  int events;
};

void onClose(uv_handle_t* handle) { std::free(handle->data); }

// Reads what the socket has straight into the reader's buffer, with no
// intermediate copy. Errors and end of file are left for hiredis to find:
// its own read right after sees them again and disconnects as usual.
void readIntoReader(Events* events) {
  redisContext* c = &events->context->c;
  redisReader* reader = c->reader;
  if ((c->flags & REDIS_CONNECTED) == 0 || reader == nullptr || reader->err != 0) return;
  if (reader->len == 0 && sdsalloc(reader->buf) > kKeptReaderBuffer) {
    sdsfree(reader->buf);
    reader->buf = sdsempty();
    reader->pos = 0;
    if (reader->buf == nullptr) return;
  }
  sds grown = sdsMakeRoomFor(reader->buf, kReadRoom);
  if (grown == nullptr) return;
  reader->buf = grown;
  const ssize_t n = ::read(c->fd, reader->buf + sdslen(reader->buf), sdsavail(reader->buf));
  if (n <= 0) return;
  sdsIncrLen(reader->buf, static_cast<int>(n));
  reader->len = sdslen(reader->buf);
  base::metrics::redis_bytes_read.inc(static_cast<uint64_t>(n));
  if (events->observer != nullptr) events->observer->onBytesRead(static_cast<size_t>(n));
}

void onPoll(uv_poll_t* handle, int status, int ready) {
  auto* events = static_cast<Events*>(handle->data);
  if (status != 0) return;
  if (events->context != nullptr && (ready & UV_READABLE) != 0) {
    readIntoReader(events);
    // Parses what was read and runs the reply callbacks; when the socket
    // had more than the room read above, its own read takes the rest.
    redisAsyncHandleRead(events->context);
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

redisAsyncContext* connectOnLoop(const RedisOptions& options, uv_loop_t* loop, void* owner,
                                 RedisIoObserver* observer, std::string& error) {
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

std::string describeRedis(const RedisOptions& options, int index) {
  if (!options.unix_path.empty()) return fmt::format("{}#{}", options.unix_path, index);
  return fmt::format("{}:{}#{}", options.host, options.port, index);
}

}  // namespace larder::store
