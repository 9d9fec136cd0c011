// store/redis/reply_arena.h: hiredis's reader building replies in an arena.
#include "store/redis/reply_arena.h"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <string_view>

using namespace larder::store;

namespace {

std::string_view text(const redisReply* reply) { return {reply->str, reply->len}; }

struct ArenaReader {
  ReplyArena arena;  // outlives the reader
  redisReader* reader = redisReaderCreate();
  ArenaReader() { arena.install(reader); }
  ~ArenaReader() { redisReaderFree(reader); }
  redisReply* parse(std::string_view bytes) {
    REQUIRE(redisReaderFeed(reader, bytes.data(), bytes.size()) == REDIS_OK);
    void* reply = nullptr;
    REQUIRE(redisReaderGetReply(reader, &reply) == REDIS_OK);
    return static_cast<redisReply*>(reply);
  }
  void release(redisReply* reply) { reader->fn->freeObject(reply); }
};

}  // namespace

TEST_CASE("reply arena: every reply type, nested, as hiredis's own objects would read") {
  ArenaReader r;
  const std::string big(5000, 'b');
  redisReply* reply = r.parse("*6\r\n+OK\r\n-ERR bad\r\n:-12\r\n$-1\r\n*2\r\n$0\r\n\r\n*0\r\n$5000\r\n" +
                              big + "\r\n");
  REQUIRE(reply != nullptr);
  REQUIRE(reply->type == REDIS_REPLY_ARRAY);
  REQUIRE(reply->elements == 6);
  CHECK(reply->element[0]->type == REDIS_REPLY_STATUS);
  CHECK(std::string_view(reply->element[0]->str) == "OK");  // NUL-terminated
  CHECK(reply->element[1]->type == REDIS_REPLY_ERROR);
  CHECK(std::string_view(reply->element[1]->str) == "ERR bad");
  CHECK(reply->element[2]->type == REDIS_REPLY_INTEGER);
  CHECK(reply->element[2]->integer == -12);
  CHECK(reply->element[3]->type == REDIS_REPLY_NIL);
  const redisReply* inner = reply->element[4];
  REQUIRE(inner->type == REDIS_REPLY_ARRAY);
  REQUIRE(inner->elements == 2);
  CHECK(inner->element[0]->type == REDIS_REPLY_STRING);
  CHECK(inner->element[0]->len == 0);
  CHECK(inner->element[1]->type == REDIS_REPLY_ARRAY);
  CHECK(inner->element[1]->elements == 0);
  CHECK(text(reply->element[5]) == big);
  CHECK(reply->element[5]->str[5000] == '\0');  // not borrowed: a copy
  // Larger than one block: the arena grew, and freeing the root gives it back.
  CHECK(r.arena.extraBytesForTest() > 0);
  r.release(reply);
  CHECK(r.arena.extraBytesForTest() == 0);
}

TEST_CASE("reply arena: replies one after another reuse the arena") {
  ArenaReader r;
  for (int i = 0; i < 100; ++i) {
    const std::string value = std::to_string(i);
    redisReply* reply = r.parse("*2\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n:5\r\n");
    REQUIRE(reply != nullptr);
    CHECK(text(reply->element[0]) == value);
    CHECK(reply->element[1]->integer == 5);
    r.release(reply);
  }
  CHECK(r.arena.extraBytesForTest() == 0);
}

TEST_CASE("reply arena: a reply split across reads is built as it arrives") {
  ArenaReader r;
  const std::string bytes = "*3\r\n$5\r\nfirst\r\n$6\r\nsecond\r\n:3\r\n";
  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    CAPTURE(cut);
    CHECK(r.parse(bytes.substr(0, cut)) == nullptr);
    redisReply* reply = r.parse(bytes.substr(cut));
    REQUIRE(reply != nullptr);
    CHECK(text(reply->element[0]) == "first");
    CHECK(text(reply->element[1]) == "second");
    CHECK(reply->element[2]->integer == 3);
    r.release(reply);
  }
}

TEST_CASE("reply arena: while borrowing, large bulk strings point into the reader's buffer") {
  ArenaReader r;
  const std::string big(ReplyArena::kBorrowBytes, 'x');
  const std::string small(ReplyArena::kBorrowBytes - 1, 's');
  r.arena.setBorrowing(true);
  redisReply* reply = r.parse("*3\r\n$" + std::to_string(big.size()) + "\r\n" + big + "\r\n$" +
                              std::to_string(small.size()) + "\r\n" + small + "\r\n+" + big + "\r\n");
  REQUIRE(reply != nullptr);
  const char* begin = r.reader->buf;
  const char* end = r.reader->buf + r.reader->len;
  CHECK(text(reply->element[0]) == big);
  CHECK((reply->element[0]->str >= begin && reply->element[0]->str < end));
  CHECK(text(reply->element[1]) == small);  // small: copied
  CHECK(!(reply->element[1]->str >= begin && reply->element[1]->str < end));
  CHECK(text(reply->element[2]) == big);  // a status: always copied, NUL-terminated
  CHECK(!(reply->element[2]->str >= begin && reply->element[2]->str < end));
  r.release(reply);
}

TEST_CASE("reply arena: a protocol error frees the partial reply and the reader reports it") {
  ArenaReader r;
  REQUIRE(redisReaderFeed(r.reader, "*2\r\n:1\r\n!bad\r\n", 15) == REDIS_OK);
  void* reply = nullptr;
  CHECK(redisReaderGetReply(r.reader, &reply) == REDIS_ERR);
  CHECK(reply == nullptr);
  CHECK(r.arena.extraBytesForTest() == 0);
  // A negative element count other than -1 is refused, not built.
  ArenaReader s;
  REQUIRE(redisReaderFeed(s.reader, "*-2\r\n", 5) == REDIS_OK);
  CHECK(redisReaderGetReply(s.reader, &reply) == REDIS_ERR);
}
