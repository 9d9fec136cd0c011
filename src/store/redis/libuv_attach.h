// Opens a hiredis async context on a libuv loop. Shared by RedisConnection
// and RedisSubscriber. It replaces hiredis's stock libuv adapter for three
// reasons (issue 13 measured the hit path):
//
// - Event interest: hiredis 0.14 asks for write interest on every command
//   and for read interest after every read and write, and the stock adapter
//   answers each request with uv_poll_start, which in libuv 1.44 first
//   removes the fd from epoll (an EPOLL_CTL_DEL, then an ADD on the next
//   turn). Here a hook only touches the poll handle when the interest changes,
//   and a connected socket is written at the end of the loop phase that
//   queued commands (prepare or check handles) without asking for write
//   interest at all unless the socket is full.
// - Reads: hiredis reads 16 KiB at a time into a stack buffer and copies it
//   into its reader's buffer, which it frees whenever it is empty and more
//   than 16 KiB large (reader->maxbuf), so every large reply regrew it from
//   nothing. Here a readable socket is read until drained (up to 1 MiB a
//   turn) straight into the reader's buffer, which is kept (up to
//   kKeptReaderBuffer) across replies; hiredis then parses it without a read
//   of its own (one syscall less per event). End of file and errors are
//   left to hiredis's read, which disconnects as usual.
// - Replies (ReplyObjects::kArena): built in a per-connection arena, one
//   whole reply handed to the reader at a time, large strings pointing into
//   the reader's buffer (store/redis/reply_arena.h, processReplies() in the
//   .cc): no allocation per element, no copy of an entry, no memmove of the
//   pipelined replies behind each one. Only for owners that read replies
//   through (str, len) and only during their callback (RedisConnection).
// - Progress: the owner (RedisIoObserver) learns when reply bytes arrive and
//   when the output buffer was flushed to the socket, which is what tells a
//   slow Redis from a dead one and starts a command's deadline.
#pragma once

#include <hiredis/async.h>
#include <uv.h>

#include <cstddef>
#include <string>

#include "store/redis/redis_endpoint.h"

namespace larder::store {

// Told about a context's socket I/O, from inside the poll callback (before
// hiredis runs the reply callbacks of what was read).
class RedisIoObserver {
 public:
  virtual void onBytesRead(size_t bytes) = 0;
  // hiredis's output buffer is empty: every command given to it so far has
  // been written to the socket.
  virtual void onOutputFlushed() = 0;

 protected:
  ~RedisIoObserver() = default;
};

// The reader's buffer is kept between replies up to this size; larger ones
// (a rare big value) are released once empty.
inline constexpr size_t kKeptReaderBuffer = 2u * 1024 * 1024;

enum class ReplyObjects {
  kHiredis,  // hiredis's own, NUL-terminated strings (pub/sub needs them)
  kArena,    // see the top
};

// Starts connecting to `target` (a literal IP, never a name: see
// store/redis/redis_endpoint.h, or a unix socket), attached to `loop`, with `owner` as the context's data and `observer` (may be null)
// told about its I/O. nullptr, with `error` saying why, if that failed at
// once; nothing is left to free then.
redisAsyncContext* connectOnLoop(const RedisTarget& target, uv_loop_t* loop, void* owner,
                                 RedisIoObserver* observer, std::string& error,
                                 ReplyObjects replies = ReplyObjects::kHiredis);

}  // namespace larder::store
