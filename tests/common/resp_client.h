// A tiny synchronous RESP2 client for checking what larder stored in Redis:
// one connection, one command at a time, every call with a timeout.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/socket_io.h"

namespace larder::test {

struct RedisReply {
  enum class Type { kStatus, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNil;
  std::string str;                  // status, error or bulk text
  int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool isNil() const { return type == Type::kNil; }
  bool isError() const { return type == Type::kError; }
  bool isStatus(std::string_view s) const { return type == Type::kStatus && str == s; }
  // For messages: "+OK", "-ERR x", ":5", "\"bulk\"", "(nil)", "[a, b]".
  std::string toString() const;
};

class RespClient {
 public:
  // Connects to 127.0.0.1:port; throws HarnessError on failure.
  explicit RespClient(uint16_t port, Millis timeout = 2s);
  // Sends one command and reads its reply. Throws HarnessError if the
  // connection fails or the reply does not arrive in time (the connection
  // is then unusable). A Redis error is a reply of type kError, not a throw.
  RedisReply command(const std::vector<std::string>& args, Millis timeout = 5s);

 private:
  IoStatus readReply(RedisReply& reply, Deadline deadline, int depth);

  uint16_t port_;
  Fd fd_;
  std::unique_ptr<StreamReader> reader_;
};

}  // namespace larder::test
