// ReplyArena: where one connection's hiredis reader builds its replies,
// instead of a malloc per element and a copy of every string (issue 13: an
// MGET hit cost about ten allocations in hiredis, and a 64 KiB entry one
// more copy).
//
// The reply tree is bump-allocated in blocks that are reused: freeing the
// root (hiredis does so after the reply callback returns) resets the arena.
// A reply is only valid during its callback, which is already the contract
// (RedisConnection: copy what you keep), and a reader holds one reply at a
// time, so one arena per reader suffices.
//
// Borrowing: while setBorrowing(true), a bulk string of kBorrowBytes or more
// is not copied: the reply points into the reader's buffer. The caller
// promises that the buffer is neither compacted nor grown until the reply is
// freed (libuv_attach.cc hands the reader one whole reply at a time, so
// hiredis's compaction moves nothing). Such a string is not NUL-terminated;
// every other one is, as hiredis's are. Status and error replies are always
// copied (hiredis prints them with %s).
//
// Ownership: the arena must outlive the reader it is installed in (the
// reader frees a partial reply when it is freed).
#pragma once

#include <hiredis/read.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace larder::store {

class ReplyArena {
 public:
  static constexpr size_t kBorrowBytes = 256;

  ReplyArena();
  ~ReplyArena();
  ReplyArena(const ReplyArena&) = delete;
  ReplyArena& operator=(const ReplyArena&) = delete;

  // Makes `reader` build its replies here. Before the reader has read
  // anything.
  void install(redisReader* reader);
  void setBorrowing(bool borrowing) { borrowing_ = borrowing; }
  // Bytes held beyond the first block (0 between replies).
  size_t extraBytesForTest() const;

 private:
  void* allocate(size_t bytes);
  void reset();
  void* createString(const redisReadTask* task, char* str, size_t len);
  void* createArray(const redisReadTask* task, int elements);
  void* createInteger(const redisReadTask* task, long long value);
  void* createNil(const redisReadTask* task);
  void* createObject(const redisReadTask* task, int type);

  static const redisReplyObjectFunctions kFunctions;

  struct Block {
    std::unique_ptr<std::byte[]> bytes;
    size_t size = 0;
  };
  std::vector<Block> blocks_;  // the first is kept across replies
  size_t used_ = 0;            // in blocks_.back()
  bool borrowing_ = false;
};

}  // namespace larder::store
