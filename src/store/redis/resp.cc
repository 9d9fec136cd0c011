#include "store/redis/resp.h"

#include <charconv>
#include <cstdint>
#include <cstring>

#include "base/decimal.h"

namespace larder::store::resp {

namespace {

constexpr uint64_t kMaxOutstanding = uint64_t{1} << 32;
constexpr size_t kMaxDigits = 18;  // hiredis's long long cannot hold more

// hiredis's readLongLong(): an optional sign, then digits up to the first
// '\r'; anything else makes the whole value -1. `ok` is false past
// kMaxDigits (hiredis would overflow).
int64_t readNumber(std::string_view line, bool& ok) {
  ok = true;
  line = line.substr(0, line.find('\r'));
  size_t i = 0;
  int64_t sign = 1;
  if (!line.empty() && (line[0] == '-' || line[0] == '+')) {
    sign = line[0] == '-' ? -1 : 1;
    i = 1;
  }
  if (line.size() - i > kMaxDigits) {
    ok = false;
    return 0;
  }
  int64_t value = 0;
  for (; i < line.size(); ++i) {
    const char c = line[i];
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
  }
  return sign * value;
}

}  // namespace

void appendCommand(std::string& out, const std::vector<std::string_view>& args) {
  size_t total = 3 + base::decimalLength(args.size());
  for (std::string_view arg : args) total += 5 + base::decimalLength(arg.size()) + arg.size();
  // The exact size is known: made once, then written without a capacity
  // check per piece (a hit formats one MGET, issue 13).
  const size_t start = out.size();
  out.resize(start + total);
  char* at = out.data() + start;
  const auto header = [&at](char type, size_t value) {
    *at++ = type;
    at = std::to_chars(at, at + 20, value).ptr;
    *at++ = '\r';
    *at++ = '\n';
  };
  header('*', args.size());
  for (std::string_view arg : args) {
    header('$', arg.size());
    if (!arg.empty()) std::memcpy(at, arg.data(), arg.size());
    at += arg.size();
    *at++ = '\r';
    *at++ = '\n';
  }
}

size_t replyLength(std::string_view data) {
  size_t pos = 0;
  uint64_t outstanding = 1;  // items still to read, nested ones included
  while (outstanding > 0) {
    if (pos >= data.size()) return kIncomplete;
    const char type = data[pos];
    // hiredis looks for "\r\n" from the byte after the type.
    const size_t eol = data.find("\r\n", pos + 1);
    if (type != '+' && type != '-' && type != ':' && type != '$' && type != '*') return kMalformed;
    if (eol == std::string_view::npos) return kIncomplete;
    const std::string_view line = data.substr(pos + 1, eol - pos - 1);
    pos = eol + 2;
    --outstanding;
    if (type == '$' || type == '*') {
      bool ok = true;
      const int64_t value = readNumber(line, ok);
      if (!ok) return kMalformed;
      if (type == '$' && value >= 0) {
        // The bytes, then two that hiredis skips without looking.
        const uint64_t end = uint64_t{pos} + static_cast<uint64_t>(value) + 2;
        if (end > data.size()) return kIncomplete;
        pos = static_cast<size_t>(end);
      } else if (type == '*' && value > 0) {
        outstanding += static_cast<uint64_t>(value);
        if (outstanding > kMaxOutstanding) return kMalformed;
      }
    }
  }
  return pos;
}

}  // namespace larder::store::resp
