#include "store/redis/reply_arena.h"

#include <hiredis/hiredis.h>

#include <cstring>
#include <new>

namespace larder::store {

namespace {

constexpr size_t kBlockBytes = 4096;
constexpr size_t kAlign = alignof(std::max_align_t);

constexpr size_t aligned(size_t bytes) { return (bytes + kAlign - 1) & ~(kAlign - 1); }

// The root of a reply carries its arena just before it: hiredis frees a
// reply with only the pointer in hand.
struct RootHeader {
  ReplyArena* arena;
};
constexpr size_t kRootHeader = aligned(sizeof(RootHeader));

ReplyArena* arenaOf(const redisReadTask* task) { return static_cast<ReplyArena*>(task->privdata); }

}  // namespace

const redisReplyObjectFunctions ReplyArena::kFunctions = {
    [](const redisReadTask* task, char* str, size_t len) {
      return arenaOf(task)->createString(task, str, len);
    },
    [](const redisReadTask* task, int elements) { return arenaOf(task)->createArray(task, elements); },
    [](const redisReadTask* task, long long value) { return arenaOf(task)->createInteger(task, value); },
    [](const redisReadTask* task) { return arenaOf(task)->createNil(task); },
    [](void* reply) {
      // Only roots are freed (hiredis frees a reply whole).
      auto* header = reinterpret_cast<RootHeader*>(static_cast<std::byte*>(reply) - kRootHeader);
      header->arena->reset();
    },
};

ReplyArena::ReplyArena() {
  blocks_.push_back(Block{std::make_unique<std::byte[]>(kBlockBytes), kBlockBytes});
}

ReplyArena::~ReplyArena() = default;

void ReplyArena::install(redisReader* reader) {
  // The stock functions are static in hiredis; a reader only points at them.
  reader->fn = const_cast<redisReplyObjectFunctions*>(&kFunctions);
  reader->privdata = this;
}

size_t ReplyArena::extraBytesForTest() const {
  size_t bytes = 0;
  for (size_t i = 1; i < blocks_.size(); ++i) bytes += blocks_[i].size;
  return bytes;
}

void* ReplyArena::allocate(size_t bytes) {
  bytes = aligned(bytes);
  if (used_ + bytes > blocks_.back().size) {
    const size_t size = std::max(kBlockBytes, bytes);
    auto block = std::unique_ptr<std::byte[]>(new (std::nothrow) std::byte[size]);
    if (!block) return nullptr;  // hiredis reports "Out of memory"
    blocks_.push_back(Block{std::move(block), size});
    used_ = 0;
  }
  void* at = blocks_.back().bytes.get() + used_;
  used_ += bytes;
  return at;
}

void ReplyArena::reset() {
  blocks_.resize(1);
  used_ = 0;
}

void* ReplyArena::createObject(const redisReadTask* task, int type) {
  const bool root = task->parent == nullptr;
  void* at = allocate(sizeof(redisReply) + (root ? kRootHeader : 0));
  if (at == nullptr) return nullptr;
  if (root) {
    static_cast<RootHeader*>(at)->arena = this;
    at = static_cast<std::byte*>(at) + kRootHeader;
  }
  auto* reply = new (at) redisReply{};
  reply->type = type;
  if (!root) {
    // As hiredis's own functions do: the parent array holds its elements.
    auto* parent = static_cast<redisReply*>(task->parent->obj);
    parent->element[task->idx] = reply;
  }
  return reply;
}

void* ReplyArena::createString(const redisReadTask* task, char* str, size_t len) {
  auto* reply = static_cast<redisReply*>(createObject(task, task->type));
  if (reply == nullptr) return nullptr;
  if (borrowing_ && task->type == REDIS_REPLY_STRING && len >= kBorrowBytes) {
    reply->str = str;
  } else {
    auto* copy = static_cast<char*>(allocate(len + 1));
    if (copy == nullptr) return nullptr;
    std::memcpy(copy, str, len);
    copy[len] = '\0';
    reply->str = copy;
  }
  reply->len = len;
  return reply;
}

void* ReplyArena::createArray(const redisReadTask* task, int elements) {
  if (elements < 0) return nullptr;  // not RESP2; hiredis reports an error
  auto* reply = static_cast<redisReply*>(createObject(task, REDIS_REPLY_ARRAY));
  if (reply == nullptr) return nullptr;
  if (elements > 0) {
    void* slots = allocate(sizeof(redisReply*) * static_cast<size_t>(elements));
    if (slots == nullptr) return nullptr;
    reply->element = static_cast<redisReply**>(std::memset(slots, 0, sizeof(redisReply*) * elements));
  }
  reply->elements = static_cast<size_t>(elements);
  return reply;
}

void* ReplyArena::createInteger(const redisReadTask* task, long long value) {
  auto* reply = static_cast<redisReply*>(createObject(task, REDIS_REPLY_INTEGER));
  if (reply != nullptr) reply->integer = value;
  return reply;
}

void* ReplyArena::createNil(const redisReadTask* task) { return createObject(task, REDIS_REPLY_NIL); }

}  // namespace larder::store
