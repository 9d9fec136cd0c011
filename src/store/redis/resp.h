// RESP2, the Redis protocol, as far as the hit path needs it without
// hiredis: formatting a command, and finding where one reply ends in bytes
// read from the socket (store/redis/libuv_attach.cc hands hiredis's reader
// one whole reply at a time, so that its buffer is never compacted under a
// reply and reply strings can point into it; issue 13).
//
// Pure functions over bytes; no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace larder::store::resp {

// Appends `args` as one command ("*N\r\n" then "$len\r\narg\r\n" each),
// byte for byte what hiredis's redisFormatCommandArgv writes. Binary-safe.
void appendCommand(std::string& out, const std::vector<std::string_view>& args);

// What replyLength() found.
inline constexpr size_t kIncomplete = 0;
inline constexpr size_t kMalformed = static_cast<size_t>(-1);

// The length of the first reply in `data`, nested arrays included, as
// hiredis 0.14's reader delimits it: kIncomplete when more bytes are needed,
// kMalformed when hiredis would not read it as RESP2 (an unknown type byte,
// a length of more than 18 digits, more than 2^32 elements outstanding).
// hiredis's own leniencies are kept: a length that is not a number reads as
// -1 (a nil), and the two bytes after a bulk string are skipped unchecked.
size_t replyLength(std::string_view data);

}  // namespace larder::store::resp
