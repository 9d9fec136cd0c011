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
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include "base/metric_catalog.h"
#include "store/redis/reply_arena.h"
#include "store/redis/resp.h"

namespace larder::store {
namespace {

// One read asks for at least this much room: a 64 KiB value arrives in one
// read instead of four 16 KiB ones, each a loop turn.
constexpr size_t kReadRoom = 64 * 1024;
// Reads in one poll callback stop after this much, so that one connection
// streaming a large reply does not hold the loop for long.
constexpr size_t kReadBudget = 1024 * 1024;

// The adapter's state, owned by the context (freed through cleanup(), in
// the poll handle's close callback: after hiredis has freed its reader,
// which may still free a partial reply into `arena`).
struct Events {
  redisAsyncContext* context = nullptr;  // null once hiredis has let go of it
  RedisIoObserver* observer = nullptr;
  std::unique_ptr<ReplyArena> arena;  // null: hiredis's own reply objects
  uv_poll_t handle{};
  int events = 0;
  // Commands are written at the end of the loop phase that queued them
  // (see addWrite()), by whichever of these runs first.
  uv_prepare_t before_poll{};
  uv_check_t after_poll{};
  bool flush_scheduled = false;
  bool flushing = false;  // inside flush(): a socket that is full needs write interest
  int open_handles = 0;
};

void onClose(uv_handle_t* handle) {
  auto* events = static_cast<Events*>(handle->data);
  if (--events->open_handles == 0) delete events;
}

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

// Whether hiredis's reader holds no part of a reply: between replies it
// has either not started one (ridx -1) or found no byte of the next (ridx 0,
// type unset).
bool readerBetweenReplies(const redisReader* reader) {
  return reader->err == 0 &&
         (reader->ridx == -1 || (reader->ridx == 0 && reader->rstack[0].type == -1));
}

// Runs the reply callbacks of what the reader holds, one whole reply at a
// time (with an arena). hiredis parses whatever lies between its cursor and
// the buffer's length, and after each reply past the first KiB moves the
// rest of the buffer to its front (sdsrange): with many pipelined replies in
// one read that is a memmove per reply of everything behind it, and it would
// move bytes that a borrowed reply string points at. So the buffer's length
// is set to the end of one reply (resp::replyLength) before each parse: the
// compaction then has nothing to move, and the bytes behind stay where they
// are. Afterwards the unread rest is visible again and moved to the front,
// once.
void processReplies(Events* events) {
  redisAsyncContext* context = events->context;
  redisReader* reader = context->c.reader;
  if (events->arena == nullptr || reader == nullptr || !readerBetweenReplies(reader)) {
    redisProcessCallbacks(context);
    return;
  }
  size_t start = reader->pos;
  const size_t filled = sdslen(reader->buf);
  while (start < filled) {
    const size_t length = resp::replyLength(std::string_view(reader->buf + start, filled - start));
    if (length == resp::kIncomplete || length == resp::kMalformed) break;
    const size_t end = start + length;
    sdssetlen(reader->buf, end);
    reader->pos = start;
    reader->len = end;
    events->arena->setBorrowing(true);
    redisProcessCallbacks(context);
    events->arena->setBorrowing(false);
    // A callback or a protocol error may have freed the context (and the
    // reader with it).
    if (events->context == nullptr) return;
    reader = context->c.reader;
    const bool compacted = reader->pos == 0 && sdslen(reader->buf) == 0;
    if (!readerBetweenReplies(reader) || !(compacted || reader->pos == end)) {
      // hiredis did not read exactly that reply (it reads the bytes as it
      // sees fit, for instance on an error): show it the rest and let it go
      // on as it would have. The rest is still at [end, filled): a
      // compaction moves only what lies before `end`.
      const size_t kept = sdslen(reader->buf);
      if (compacted || kept != end) std::memmove(reader->buf + kept, reader->buf + end, filled - end);
      sdssetlen(reader->buf, kept + (filled - end));
      reader->len = sdslen(reader->buf);
      redisProcessCallbacks(context);
      return;
    }
    start = end;
  }
  // The unread rest (part of a reply, or bytes hiredis will reject) is
  // visible again, at the front, where the next read appends to it.
  const size_t rest = filled - start;
  if (start > 0 && rest > 0) std::memmove(reader->buf, reader->buf + start, rest);
  sdssetlen(reader->buf, rest);
  reader->buf[rest] = '\0';
  reader->pos = 0;
  reader->len = rest;
  // Bytes hiredis must judge (it fails the connection on a protocol error).
  if (rest > 0 && resp::replyLength(std::string_view(reader->buf, rest)) == resp::kMalformed) {
    redisProcessCallbacks(context);
  }
}

void onPoll(uv_poll_t* handle, int status, int ready) {
  auto* events = static_cast<Events*>(handle->data);
  if (status != 0) return;
  if (events->context != nullptr && (ready & UV_READABLE) != 0) {
    const ReadResult read = readIntoReader(events);
    if (read.bytes > 0) processReplies(events);
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

void flush(Events* events) {
  events->flush_scheduled = false;
  uv_prepare_stop(&events->before_poll);
  uv_check_stop(&events->after_poll);
  if (events->context == nullptr) return;
  events->flushing = true;
  redisAsyncHandleWrite(events->context);  // may free the context (a write error)
  events->flushing = false;
  if (events->context != nullptr && events->observer != nullptr &&
      sdslen(events->context->c.obuf) == 0) {
    events->observer->onOutputFlushed();
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
// hiredis asks for write interest whenever a command is queued. Asking
// libuv for it costs two epoll_ctl calls each way (uv_poll_start removes
// the fd from epoll and adds it back on the next turn), a turn woken for
// POLLOUT, and the same again to drop it: about 1.3 epoll_ctl per hit at
// 64 KiB (issue 13, perf trace). The socket is almost always writable, so
// once connected the commands of a loop phase are written right after it
// instead: in the check phase for those queued by I/O callbacks, in the
// prepare phase (before the loop may block) for those queued by timers and
// idle work. Only what the socket does not take waits for write interest.
void addWrite(void* privdata) {
  auto* events = static_cast<Events*>(privdata);
  const bool connected =
      events->context != nullptr && (events->context->c.flags & REDIS_CONNECTED) != 0;
  if (!connected || events->flushing || (events->events & UV_WRITABLE) != 0) {
    setInterest(privdata, events->events | UV_WRITABLE);
    return;
  }
  if (events->flush_scheduled) return;
  events->flush_scheduled = true;
  uv_prepare_start(&events->before_poll, [](uv_prepare_t* handle) {
    flush(static_cast<Events*>(handle->data));
  });
  uv_check_start(&events->after_poll, [](uv_check_t* handle) {
    flush(static_cast<Events*>(handle->data));
  });
}
void delWrite(void* privdata) { setInterest(privdata, static_cast<Events*>(privdata)->events & ~UV_WRITABLE); }

void cleanup(void* privdata) {
  auto* events = static_cast<Events*>(privdata);
  events->context = nullptr;  // hiredis is freeing it
  uv_close(reinterpret_cast<uv_handle_t*>(&events->handle), onClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&events->before_poll), onClose);
  uv_close(reinterpret_cast<uv_handle_t*>(&events->after_poll), onClose);
}

bool attach(redisAsyncContext* context, uv_loop_t* loop, RedisIoObserver* observer, bool arena) {
  auto* events = new (std::nothrow) Events;
  if (events == nullptr) return false;
  if (uv_poll_init(loop, &events->handle, context->c.fd) != 0) {
    delete events;
    return false;
  }
  // Cannot fail on Linux (they only join the loop's queues).
  uv_prepare_init(loop, &events->before_poll);
  uv_check_init(loop, &events->after_poll);
  events->open_handles = 3;
  events->before_poll.data = events;
  events->after_poll.data = events;
  // A pending flush must not keep a loop alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&events->before_poll));
  uv_unref(reinterpret_cast<uv_handle_t*>(&events->after_poll));
  events->context = context;
  events->observer = observer;
  if (arena) {
    events->arena = std::make_unique<ReplyArena>();
    events->arena->install(context->c.reader);
  }
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
                                 RedisIoObserver* observer, std::string& error,
                                 ReplyObjects replies) {
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
  if (!attach(context, loop, observer, replies == ReplyObjects::kArena)) {
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
