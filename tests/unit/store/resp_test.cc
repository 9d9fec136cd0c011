// store/redis/resp.h: command formatting (byte for byte hiredis's) and
// reply delimiting (where hiredis's reader ends a reply).
#include "store/redis/resp.h"

#include <doctest/doctest.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

using namespace larder::store;

namespace {

std::string hiredisFormat(const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (std::string_view arg : args) {
    argv.push_back(arg.data() != nullptr ? arg.data() : "");
    lengths.push_back(arg.size());
  }
  char* formatted = nullptr;
  const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                            lengths.data());
  std::string out(formatted, static_cast<size_t>(length));
  redisFreeCommand(formatted);
  return out;
}

}  // namespace

TEST_CASE("appendCommand writes what redisFormatCommandArgv writes") {
  const std::string big(70000, 'x');
  const std::string binary("a\0b\r\nc", 6);
  const std::vector<std::vector<std::string_view>> rows = {
      {"PING"},
      {"MGET", "v1:generation", "v:a", "e:1"},
      {"SET", "k", ""},
      {"SET", "k", big},
      {"SET", binary, binary},
      {"EVALSHA", "0123456789012345678901234567890123456789", "3", "a", "b", "c", "d", "e", "f", "g", "h"},
  };
  for (const auto& args : rows) {
    std::string out = "prefix";
    resp::appendCommand(out, args);
    CHECK(out == "prefix" + hiredisFormat(args));
  }
}

TEST_CASE("replyLength delimits one reply as hiredis's reader does") {
  struct Row {
    std::string bytes;
    size_t expected;
  };
  const size_t I = resp::kIncomplete, M = resp::kMalformed;
  const std::vector<Row> rows = {
      {"+OK\r\n", 5},
      {"+OK\r\n+OK\r\n", 5},
      {"-ERR x\r\n", 8},
      {":42\r\n", 5},
      {"$3\r\nabc\r\n", 9},
      {"$3\r\nabc\r\n:1\r\n", 9},
      {"$0\r\n\r\n", 6},
      {"$-1\r\n", 5},
      {"$-7\r\n", 5},               // any negative length is a nil
      {"$x\r\n", 4},                // not a number: hiredis reads -1, a nil
      {"$3\r\na\r\n\r\n", 9},       // the bytes may hold CRLF
      {"$3\r\nabcXY", 9},           // the two bytes after are not checked
      {"$2\rz\r\nab\r\n", 10},      // the number stops at the first CR
      {"*-1\r\n", 5},
      {"*0\r\n", 4},
      {"*2\r\n$1\r\na\r\n$-1\r\n", 16},
      {"*2\r\n*1\r\n:1\r\n+x\r\n", 16},
      {"*3\r\n$16\r\n0123456789abcdef\r\n$-1\r\n$4\r\nbody\r\n", 42},
      // More is needed.
      {"", I},
      {"+OK", I},
      {"+OK\r", I},
      {"$3\r\nab", I},
      {"$3\r\nabc\r", I},
      {"*2\r\n$1\r\na\r\n", I},
      {"*2\r\n", I},
      {"*1\r\n*1\r\n", I},
      // Not RESP2 as hiredis reads it.
      {"!oops\r\n", M},
      {"_\r\n", M},                   // RESP3 null
      {"*1\r\n?x\r\n", M},
      {"$1234567890123456789\r\n", M},
      {"*4294967297\r\n", M},
  };
  for (const auto& row : rows) {
    CAPTURE(row.bytes);
    CHECK(resp::replyLength(row.bytes) == row.expected);
  }
}

TEST_CASE("replyLength agrees with hiredis's reader on where each reply ends") {
  // A pipelined stream of replies; each prefix the reader accepts as a whole
  // reply is the length replyLength gives.
  const std::string stream = std::string("*3\r\n$16\r\n0123456789abcdef\r\n$-1\r\n$5\r\nhello\r\n") +
                             "+OK\r\n:7\r\n$-1\r\n*0\r\n*2\r\n*1\r\n$1\r\nz\r\n-ERR no\r\n" + "$300\r\n" +
                             std::string(300, 'q') + "\r\n";
  size_t start = 0;
  int replies = 0;
  while (start < stream.size()) {
    const std::string_view rest(stream.data() + start, stream.size() - start);
    const size_t length = resp::replyLength(rest);
    REQUIRE(length != resp::kIncomplete);
    REQUIRE(length != resp::kMalformed);
    // hiredis finds no reply in any shorter prefix, and one in this one.
    redisReader* reader = redisReaderCreate();
    void* reply = nullptr;
    REQUIRE(redisReaderFeed(reader, rest.data(), length - 1) == REDIS_OK);
    REQUIRE(redisReaderGetReply(reader, &reply) == REDIS_OK);
    CHECK(reply == nullptr);
    REQUIRE(redisReaderFeed(reader, rest.data() + length - 1, 1) == REDIS_OK);
    REQUIRE(redisReaderGetReply(reader, &reply) == REDIS_OK);
    CHECK(reply != nullptr);
    if (reply != nullptr) freeReplyObject(reply);
    redisReaderFree(reader);
    start += length;
    ++replies;
  }
  CHECK(replies == 7);
}
