#include "config/units.h"

#include <fmt/format.h>
#include <array>
#include <limits>
#include <utility>

namespace larder::config {

namespace {

using base::Unexpected;

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Splits "123unit" into its leading digits and the rest.
std::pair<std::string_view, std::string_view> splitNumber(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && isDigit(text[i])) ++i;
  return {text.substr(0, i), text.substr(i)};
}

bool multiply(uint64_t value, uint64_t factor, uint64_t limit, uint64_t& out) {
  if (factor != 0 && value > limit / factor) return false;
  out = value * factor;
  return true;
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '.' || c == '-' ||
         c == '_';
}

bool isV6Char(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// sun_path is 108 bytes on Linux, including the terminating NUL.
constexpr size_t kMaxUnixPath = 107;

}  // namespace

bool parseUnsigned(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (!isDigit(c)) return false;
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    value = value * 10 + digit;
  }
  out = value;
  return true;
}

base::Result<base::Duration, std::string> parseDuration(std::string_view text) {
  if (text.empty()) return Unexpected{std::string("empty")};
  if (text[0] == '-') return Unexpected{std::string("must not be negative")};
  auto [digits, unit] = splitNumber(text);
  if (digits.empty()) {
    return Unexpected{std::string("expected a whole number followed by ms, s, m, h or d")};
  }
  uint64_t value = 0;
  if (!parseUnsigned(digits, value)) return Unexpected{std::string("number too large")};
  if (unit.empty()) {
    // A bare 0 is unambiguous; any other bare number is a missing unit
    // (seconds? milliseconds?), which is exactly the mistake to catch.
    if (value == 0) return base::Duration{0};
    return Unexpected{std::string("missing unit (ms, s, m, h or d)")};
  }
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 5> kUnits{{
      {"ms", 1},
      {"s", 1000},
      {"m", 60 * 1000},
      {"h", 60 * 60 * 1000},
      {"d", 24 * 60 * 60 * 1000},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    uint64_t ms = 0;
    const auto limit = static_cast<uint64_t>(std::numeric_limits<base::Duration::rep>::max());
    if (!multiply(value, factor, limit, ms)) return Unexpected{std::string("too large")};
    return base::Duration{static_cast<base::Duration::rep>(ms)};
  }
  return Unexpected{"unknown unit \"" + std::string(unit) + "\" (expected ms, s, m, h or d)"};
}

base::Result<uint64_t, std::string> parseSize(std::string_view text) {
  if (text.empty()) return Unexpected{std::string("empty")};
  if (text[0] == '-') return Unexpected{std::string("must not be negative")};
  auto [digits, unit] = splitNumber(text);
  if (digits.empty()) {
    return Unexpected{
        std::string("expected a whole number, optionally followed by KiB, MiB or GiB")};
  }
  uint64_t value = 0;
  if (!parseUnsigned(digits, value)) return Unexpected{std::string("number too large")};
  static constexpr std::array<std::pair<std::string_view, uint64_t>, 14> kUnits{{
      {"", 1},
      {"B", 1},
      {"KiB", 1ull << 10},
      {"k", 1ull << 10},
      {"K", 1ull << 10},
      {"MiB", 1ull << 20},
      {"m", 1ull << 20},
      {"M", 1ull << 20},
      {"GiB", 1ull << 30},
      {"g", 1ull << 30},
      {"G", 1ull << 30},
      {"TiB", 1ull << 40},
      {"t", 1ull << 40},
      {"T", 1ull << 40},
  }};
  for (const auto& [name, factor] : kUnits) {
    if (unit != name) continue;
    uint64_t bytes = 0;
    if (!multiply(value, factor, std::numeric_limits<uint64_t>::max(), bytes)) {
      return Unexpected{std::string("too large")};
    }
    return bytes;
  }
  // KB means 1000 to some and 1024 to others (nginx's "k" is 1024); refusing
  // it is kinder than guessing wrong by 2.4% per step.
  if (unit == "KB" || unit == "kB" || unit == "MB" || unit == "GB" || unit == "TB") {
    return Unexpected{"ambiguous unit \"" + std::string(unit) + "\" (use KiB, MiB, GiB or TiB)"};
  }
  return Unexpected{"unknown unit \"" + std::string(unit) + "\" (expected KiB, MiB, GiB or TiB)"};
}

base::Result<Address, std::string> parseAddress(std::string_view text) {
  if (text.empty()) return Unexpected{std::string("empty")};
  Address address;
  if (text.starts_with("unix:")) {
    std::string_view path = text.substr(5);
    if (path.starts_with("//")) path.remove_prefix(2);  // unix:///run/x.sock
    if (path.empty()) return Unexpected{std::string("missing socket path after unix:")};
    if (path[0] != '/') return Unexpected{std::string("unix socket path must be absolute")};
    if (path.size() > kMaxUnixPath) return Unexpected{std::string("unix socket path too long")};
    if (path.find('\0') != std::string_view::npos) {
      return Unexpected{std::string("unix socket path contains a NUL byte")};
    }
    address.kind = Address::Kind::kUnix;
    address.path = std::string(path);
    return address;
  }

  std::string_view host;
  std::string_view rest;
  if (text[0] == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos)
      return Unexpected{std::string("missing ']' after IPv6 address")};
    host = text.substr(1, close - 1);
    rest = text.substr(close + 1);
    if (host.empty() || host.find(':') == std::string_view::npos) {
      return Unexpected{std::string("invalid IPv6 address in brackets")};
    }
    for (char c : host) {
      if (!isV6Char(c)) return Unexpected{std::string("invalid IPv6 address in brackets")};
    }
    if (rest.empty()) return Unexpected{std::string("missing port (expected [v6]:port)")};
    if (rest[0] != ':') return Unexpected{std::string("expected ':' and a port after ']'")};
    rest.remove_prefix(1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return Unexpected{std::string("missing port (expected host:port)")};
    host = text.substr(0, colon);
    rest = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Unexpected{std::string("an IPv6 address needs brackets: [addr]:port")};
    }
    if (host.empty()) return Unexpected{std::string("missing host (expected host:port)")};
    for (char c : host) {
      if (!isHostChar(c)) return Unexpected{std::string("invalid character in host")};
    }
  }
  uint64_t port = 0;
  if (rest.empty()) return Unexpected{std::string("missing port")};
  if (!parseUnsigned(rest, port) || port == 0 || port > 65535) {
    return Unexpected{std::string("port must be a number from 1 to 65535")};
  }
  address.kind = Address::Kind::kTcp;
  address.host = std::string(host);
  address.port = static_cast<uint16_t>(port);
  return address;
}

base::Result<RedisEndpoint, std::string> parseRedisUrl(std::string_view text) {
  constexpr uint16_t kDefaultPort = 6379;
  constexpr uint64_t kMaxDatabase = 1u << 20;
  RedisEndpoint endpoint;
  auto parseDatabase = [&](std::string_view digits) {
    uint64_t db = 0;
    if (!parseUnsigned(digits, db) || db > kMaxDatabase) return false;
    endpoint.database = static_cast<unsigned>(db);
    return true;
  };

  if (text.starts_with("unix:")) {
    std::string_view path = text;
    const size_t question = text.find('?');
    if (question != std::string_view::npos) {
      path = text.substr(0, question);
      const std::string_view query = text.substr(question + 1);
      if (!query.starts_with("db=") || !parseDatabase(query.substr(3))) {
        return Unexpected{std::string("expected ?db=N after the socket path")};
      }
    }
    auto address = parseAddress(path);
    if (!address) return Unexpected{std::move(address.error())};
    endpoint.address = std::move(*address);
    return endpoint;
  }
  if (text.starts_with("rediss://"))
    return Unexpected{std::string("TLS (rediss://) is not supported")};
  if (!text.starts_with("redis://")) {
    return Unexpected{std::string("expected redis://host:port/db or unix:///path")};
  }
  std::string_view rest = text.substr(8);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parseDatabase(db)) {
      return Unexpected{std::string("the database after '/' must be a number")};
    }
  }
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    if (userinfo.find(':') != std::string_view::npos) {
      // Config files end up in repositories and bug reports; secrets must not.
      return Unexpected{
          std::string("the URL contains a password; use password_file or password_env")};
    }
    if (userinfo.empty()) return Unexpected{std::string("empty user name before '@'")};
    for (char c : userinfo) {
      if (!isHostChar(c)) return Unexpected{std::string("invalid character in user name")};
    }
    endpoint.username = std::string(userinfo);
    authority.remove_prefix(at + 1);
  }
  if (authority.empty()) return Unexpected{std::string("missing host")};
  // The port is optional here, unlike in listen addresses.
  const size_t bracket = authority.rfind(']');
  const size_t colon = authority.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
  std::string with_port(authority);
  if (!has_port) with_port += fmt::format(":{}", kDefaultPort);
  auto address = parseAddress(with_port);
  if (!address) return Unexpected{std::move(address.error())};
  endpoint.address = std::move(*address);
  return endpoint;
}

}  // namespace larder::config
