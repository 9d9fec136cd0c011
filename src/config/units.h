// Parsers for the scalar units of the YAML schema: durations, sizes and
// addresses. Each is pure and strict: a value is accepted only in one of the
// documented spellings, so a typo is an error rather than a surprise default.
//   duration: a whole number and one unit: ms, s, m, h, d ("250ms", "5m");
//             "0" alone is allowed. No fractions, signs or combined units.
//   size:     a whole number of bytes, optionally with a binary unit:
//             B, KiB, MiB, GiB, TiB or nginx-style k/K, m/M, g/G, t/T (all
//             powers of 1024). KB/MB/GB/TB are rejected as ambiguous.
//   address:  host:port, [v6]:port, unix:/abs/path or unix:///abs/path;
//             port 1..65535.
//   redis url: redis://[user@]host[:port][/db] or unix:///path[?db=N]; a
//             password in the URL is an error (use password_file/password_env).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/time.h"
#include "config/config.h"

namespace larder::config {

// Errors are a short reason, without the input; the caller names the key.
base::Result<base::Duration, std::string> parseDuration(std::string_view text);
base::Result<uint64_t, std::string> parseSize(std::string_view text);
base::Result<Address, std::string> parseAddress(std::string_view text);

struct RedisEndpoint {
  Address address;
  unsigned database = 0;
  std::string username;
};
base::Result<RedisEndpoint, std::string> parseRedisUrl(std::string_view text);

// A decimal unsigned integer without sign, spaces or base prefix.
bool parseUnsigned(std::string_view text, uint64_t& out);

}  // namespace larder::config
