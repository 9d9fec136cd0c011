#include "common/resp_client.h"

#include <fmt/format.h>

#include "common/harness_error.h"

namespace larder::test {

std::string RedisReply::toString() const {
  switch (type) {
    case Type::kStatus: return "+" + str;
    case Type::kError: return "-" + str;
    case Type::kInteger: return fmt::format(":{}", integer);
    case Type::kBulk: return fmt::format("\"{}\"", str);
    case Type::kNil: return "(nil)";
    case Type::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < elements.size(); ++i) out += (i ? ", " : "") + elements[i].toString();
      return out + "]";
    }
  }
  return "?";
}

RespClient::RespClient(uint16_t port, Millis timeout) : port_(port) {
  fd_ = connectLoopback(port, timeout);
  if (!fd_.isValid()) throw HarnessError(fmt::format("cannot connect to redis at 127.0.0.1:{}", port));
  reader_ = std::make_unique<StreamReader>(fd_.get());
}

RedisReply RespClient::command(const std::vector<std::string>& args, Millis timeout) {
  if (!fd_.isValid()) throw HarnessError("redis connection is closed");
  std::string text = fmt::format("*{}\r\n", args.size());
  for (const auto& arg : args) text += fmt::format("${}\r\n{}\r\n", arg.size(), arg);
  Deadline deadline = deadlineIn(timeout);
  RedisReply reply;
  IoStatus st = sendAll(fd_.get(), text, deadline) ? readReply(reply, deadline, 0) : IoStatus::kError;
  if (st != IoStatus::kOk) {
    fd_.reset();
    throw HarnessError(fmt::format("redis 127.0.0.1:{} {}: {}", port_, args.empty() ? "" : args[0], toString(st)));
  }
  return reply;
}

IoStatus RespClient::readReply(RedisReply& reply, Deadline deadline, int depth) {
  if (depth > 16) return IoStatus::kMalformed;
  std::string line;
  if (IoStatus st = reader_->readLine(line, deadline, 64 * 1024); st != IoStatus::kOk) return st;
  if (line.empty()) return IoStatus::kMalformed;
  std::string rest = line.substr(1);
  int64_t n = 0;
  if (line[0] == ':' || line[0] == '$' || line[0] == '*') {
    try {
      n = std::stoll(rest);
    } catch (const std::exception&) {
      return IoStatus::kMalformed;
    }
  }
  switch (line[0]) {
    case '+': reply.type = RedisReply::Type::kStatus; reply.str = rest; return IoStatus::kOk;
    case '-': reply.type = RedisReply::Type::kError; reply.str = rest; return IoStatus::kOk;
    case ':': reply.type = RedisReply::Type::kInteger; reply.integer = n; return IoStatus::kOk;
    case '$': {
      if (n < 0) {
        reply.type = RedisReply::Type::kNil;
        return IoStatus::kOk;
      }
      reply.type = RedisReply::Type::kBulk;
      std::string data;
      IoStatus st = reader_->readExact(static_cast<uint64_t>(n) + 2, deadline,
                                       [&](std::string_view piece) { data.append(piece); });
      if (st != IoStatus::kOk) return st;
      if (data.substr(data.size() - 2) != "\r\n") return IoStatus::kMalformed;
      reply.str = data.substr(0, data.size() - 2);
      return IoStatus::kOk;
    }
    case '*': {
      if (n < 0) {
        reply.type = RedisReply::Type::kNil;
        return IoStatus::kOk;
      }
      reply.type = RedisReply::Type::kArray;
      reply.elements.resize(static_cast<size_t>(n));
      for (auto& element : reply.elements) {
        if (IoStatus st = readReply(element, deadline, depth + 1); st != IoStatus::kOk) return st;
      }
      return IoStatus::kOk;
    }
    default: return IoStatus::kMalformed;
  }
}

}  // namespace larder::test
