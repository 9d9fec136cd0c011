#include "cache/compact_fields.h"

#include <array>
#include <cstring>
#include <iterator>
#include <optional>
#include <unordered_map>

#include "base/hex.h"
#include "cache/entry_codec.h"
#include "cache/entry_fields.h"
#include "http/cache_control.h"

namespace larder::cache {

namespace {

using namespace entry_fields;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

// Field names stored as one byte: what answers worth caching carry most,
// spelt as servers send them (canonical case, and the lower case of HTTP/2
// era servers such as uvicorn). Index i + 1 names kStoredFieldNames[i].
// Append only: an entry written with an index decodes by this table for as
// long as it lives in a store.
constexpr std::string_view kStoredFieldNames[] = {
    "Content-Type", "Content-Length", "Date", "Server", "Last-Modified", "ETag", "Cache-Control", "Expires",
    "Vary", "Content-Encoding", "Accept-Ranges", "Content-Language", "Content-Location", "Content-Disposition",
    "Content-Range", "Link", "Location", "Set-Cookie", "Strict-Transport-Security", "X-Content-Type-Options",
    "X-Frame-Options", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials",
    "Access-Control-Expose-Headers", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers",
    "Access-Control-Max-Age", "Referrer-Policy", "Content-Security-Policy", "X-Powered-By", "Surrogate-Key",
    "Cache-Tag", "Pragma", "Via", "Allow", "Retry-After", "WWW-Authenticate", "X-Request-Id", "X-XSS-Protection",
    "Permissions-Policy", "Cross-Origin-Opener-Policy", "Cross-Origin-Resource-Policy", "Timing-Allow-Origin",
    "Alt-Svc", "Age", "Warning", "Server-Timing",
    "content-type", "content-length", "date", "server", "last-modified", "etag", "cache-control", "expires",
    "vary", "content-encoding", "accept-ranges", "content-language", "content-location", "content-disposition",
    "link", "location", "set-cookie", "strict-transport-security", "x-content-type-options", "x-frame-options",
    "access-control-allow-origin", "access-control-allow-credentials", "access-control-expose-headers",
    "referrer-policy", "content-security-policy", "x-powered-by", "surrogate-key", "allow", "retry-after",
    "x-request-id"};
constexpr size_t kStoredFieldNameCount = std::size(kStoredFieldNames);
static_assert(kStoredFieldNameCount <= 127);

// Each name once (an index must be the only way to write its name), and
// 3 to 32 bytes long (storedNameIndex skips other lengths).
constexpr bool storedFieldNamesAreSound() {
  for (size_t i = 0; i < kStoredFieldNameCount; ++i) {
    if (kStoredFieldNames[i].size() < 3 || kStoredFieldNames[i].size() > 32) return false;
    for (size_t j = i + 1; j < kStoredFieldNameCount; ++j)
      if (kStoredFieldNames[i] == kStoredFieldNames[j]) return false;
  }
  return true;
}
static_assert(storedFieldNamesAreSound());
constexpr uint8_t kDateValue = 0x80;
// 2199-12-31T23:59:59Z: http::parseHttpDate takes later years for 2200, so
// their text would not come back from its seconds.
constexpr int64_t kMaxPackedDateSeconds = 7258118399;
constexpr uint8_t kNameIndexMask = 0x7f;

// The name byte's index for `name`; 0 when it is not in the table.
uint8_t storedNameIndex(std::string_view name) {
  static const std::unordered_map<std::string_view, uint8_t> index = [] {
    std::unordered_map<std::string_view, uint8_t> built;
    for (size_t i = 0; i < kStoredFieldNameCount; ++i) built.emplace(kStoredFieldNames[i], static_cast<uint8_t>(i + 1));
    return built;
  }();
  if (name.size() < 3 || name.size() > 32) return 0;  // no name in the table is shorter or longer
  const auto it = index.find(name);
  return it == index.end() ? 0 : it->second;
}

// The seconds an IMF-fixdate value is stored as, when the value is exactly
// what appendHttpDate writes for them.
std::optional<int64_t> packedDate(std::string_view value) {
  if (value.size() != http::kHttpDateLength || !value.ends_with(" GMT")) return std::nullopt;
  const std::optional<base::WallTime> time = http::parseHttpDate(value);
  if (!time) return std::nullopt;
  const int64_t seconds = std::chrono::floor<std::chrono::seconds>(time->time_since_epoch()).count();
  if (seconds < 0 || seconds > kMaxPackedDateSeconds) return std::nullopt;
  char again[http::kHttpDateLength];
  http::writeHttpDate(again, seconds);
  if (std::string_view(again, sizeof again) != value) return std::nullopt;
  return seconds;
}

constexpr size_t kHexTail = 32;
constexpr size_t kPackedHexTail = kHexTail / 2;

// Lower case only: a token's upper-case digit would not come back as itself.
int lowerHexDigit(char c) { return c >= 'A' && c <= 'F' ? -1 : base::hexValue(c); }

bool endsInLowerHex(std::string_view token) {
  if (token.size() < kHexTail) return false;
  for (char c : token.substr(token.size() - kHexTail))
    if (lowerHexDigit(c) < 0) return false;
  return true;
}

size_t sharedPrefix(std::string_view a, std::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

void putVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void putVarintStr(std::string& out, std::string_view s) {
  putVarint(out, s.size());
  out.append(s);
}

// A bounds-checked cursor; a failed read fails the whole decode, so it does
// not restore the position.
class VarintReader {
 public:
  explicit VarintReader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }

  // Canonical only: the shortest encoding, at most 64 bits.
  bool varint(uint64_t& out) {
    // Most are one byte (lengths, counts, indexes): always canonical.
    if (pos_ < in_.size() && static_cast<uint8_t>(in_[pos_]) < 0x80) {
      out = static_cast<uint8_t>(in_[pos_++]);
      return true;
    }
    uint64_t value = 0;
    for (int i = 0; i < 10; ++i) {
      if (pos_ == in_.size()) return false;
      const auto byte = static_cast<uint8_t>(in_[pos_++]);
      if (i == 9 && byte > 1) return false;
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
      if ((byte & 0x80) == 0) {
        if (byte == 0 && i > 0) return false;
        out = value;
        return true;
      }
    }
    return false;
  }
  bool varintUpTo(uint64_t max, uint64_t& out) { return varint(out) && out <= max; }
  bool byte(uint8_t& out) {
    if (pos_ == in_.size()) return false;
    out = static_cast<uint8_t>(in_[pos_++]);
    return true;
  }
  bool bytes(size_t n, std::string_view& out) {
    if (n > remaining()) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool str(std::string_view& out) {
    uint64_t size = 0;
    return varint(size) && bytes(size, out);
  }
  // A count of items each at least `min_bytes` long: bounding it by the
  // bytes left makes a reserve() for it safe against a forged count.
  bool count(uint64_t cap, size_t min_bytes, uint64_t& out) {
    return varintUpTo(cap, out) && out <= remaining() / min_bytes;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

// An entry's dates (Date, Last-Modified, Expires) are the same on every hit
// of it, so the last few formatted are kept, per thread: formatting an
// answer's two cost ~570 of a 1 KiB hit's 31.6k instructions (callgrind,
// issue 13).
std::string_view recentDate(int64_t seconds) {
  struct Formatted {
    int64_t seconds = -1;
    char text[http::kHttpDateLength];
  };
  thread_local std::array<Formatted, 8> recent;
  Formatted& slot = recent[static_cast<uint64_t>(seconds) % recent.size()];
  if (slot.seconds != seconds) {
    http::writeHttpDate(slot.text, seconds);
    slot.seconds = seconds;
  }
  return {slot.text, http::kHttpDateLength};
}

bool readHeaders(VarintReader& in, Entry& entry) {
  uint64_t count = 0;
  if (!in.count(kMaxHeaders, 2, count)) return false;
  auto& fields = entry.headers.fields();
  fields.reserve(count + kServedFieldsHeadroom);
  for (uint64_t i = 0; i < count; ++i) {
    uint8_t name_byte = 0;
    if (!in.byte(name_byte)) return false;
    const uint8_t index = name_byte & kNameIndexMask;
    std::string_view name;
    if (index == 0) {
      if (!in.str(name) || storedNameIndex(name) != 0) return false;
    } else {
      if (index > kStoredFieldNameCount) return false;
      name = kStoredFieldNames[index - 1];
    }
    http::Header& field = fields.emplace_back();
    field.name.assign(name);
    if (name_byte & kDateValue) {
      uint64_t seconds = 0;
      if (!in.varintUpTo(kMaxPackedDateSeconds, seconds)) return false;
      field.value.assign(recentDate(static_cast<int64_t>(seconds)));
    } else {
      std::string_view value;
      if (!in.str(value) || (value.size() == http::kHttpDateLength && packedDate(value))) return false;
      field.value.assign(value);
    }
  }
  return true;
}

bool readVersions(VarintReader& in, Entry& entry) {
  uint64_t count = 0;
  if (!in.count(kMaxVersions, 3, count)) return false;
  entry.versions.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    const std::string_view previous = i == 0 ? std::string_view() : std::string_view(entry.versions[i - 1].first);
    uint64_t shared = 0, token_head = 0;
    std::string_view rest, token_text, packed;
    if (!in.varintUpTo(previous.size(), shared) || !in.str(rest)) return false;
    // The longest shared prefix, as the encoder counts it.
    if (shared < previous.size() && !rest.empty() && rest.front() == previous[shared]) return false;
    if (!in.varint(token_head) || !in.bytes(token_head >> 1, token_text)) return false;
    const bool hex = (token_head & 1) != 0;
    if (hex && !in.bytes(kPackedHexTail, packed)) return false;
    if (!hex && endsInLowerHex(token_text)) return false;
    std::string key, token;
    key.reserve(shared + rest.size());
    key.assign(previous.substr(0, shared)).append(rest);
    // Sized once and written in place: appending digit by digit was most
    // of a hit's decode.
    token.resize(token_text.size() + (hex ? kHexTail : 0));
    std::memcpy(token.data(), token_text.data(), token_text.size());
    if (hex) {
      char* digits = token.data() + token_text.size();
      for (size_t j = 0; j < kPackedHexTail; ++j)
        std::memcpy(digits + 2 * j, base::kLowerHexPairs[static_cast<uint8_t>(packed[j])].data(), 2);
    }
    entry.versions.emplace_back(std::move(key), std::move(token));
  }
  return true;
}

}  // namespace

void putCompactFields(std::string& out, const Entry& entry) {
  putVarint(out, static_cast<uint64_t>(entry.status));
  putVarint(out, static_cast<uint64_t>(duration_cast<milliseconds>(entry.stored_at.time_since_epoch()).count()));
  putVarint(out, static_cast<uint64_t>(entry.ttl.count()));
  putVarint(out, static_cast<uint64_t>(entry.initial_age_seconds));
  out += static_cast<char>(flagsOf(entry));
  if (entry.decoded_length) putVarint(out, *entry.decoded_length);
  putVarintStr(out, entry.reason);
  putVarintStr(out, entry.identity);

  putVarint(out, entry.headers.size());
  for (const http::Header& h : entry.headers) {
    const uint8_t index = storedNameIndex(h.name);
    const std::optional<int64_t> date = packedDate(h.value);
    out += static_cast<char>(index | (date ? kDateValue : 0));
    if (index == 0) putVarintStr(out, h.name);
    if (date) {
      putVarint(out, static_cast<uint64_t>(*date));
    } else {
      putVarintStr(out, h.value);
    }
  }

  putVarint(out, entry.versions.size());
  std::string_view previous;
  for (const auto& [key, token] : entry.versions) {
    const size_t shared = sharedPrefix(previous, key);
    putVarint(out, shared);
    putVarintStr(out, std::string_view(key).substr(shared));
    const bool hex = endsInLowerHex(token);
    const std::string_view text = std::string_view(token).substr(0, token.size() - (hex ? kHexTail : 0));
    putVarint(out, (static_cast<uint64_t>(text.size()) << 1) | (hex ? 1 : 0));
    out.append(text);
    if (hex) {
      const std::string_view digits = std::string_view(token).substr(text.size());
      for (size_t i = 0; i < kHexTail; i += 2)
        out += static_cast<char>((lowerHexDigit(digits[i]) << 4) | lowerHexDigit(digits[i + 1]));
    }
    previous = key;
  }
}

bool readCompactFields(std::string_view bytes, Entry& entry) {
  VarintReader in(bytes);
  uint64_t status = 0, stored_at_ms = 0, ttl_ms = 0, age = 0, length = 0;
  uint8_t flags = 0;
  if (!in.varintUpTo(999, status) || status < 100) return false;
  if (!in.varintUpTo(kMaxStoredAtMs, stored_at_ms) || !in.varintUpTo(kMaxTtlMs, ttl_ms) ||
      !in.varintUpTo(kMaxAgeSeconds, age)) {
    return false;
  }
  if (!in.byte(flags) || (flags & ~kKnownFlags) != 0) return false;
  if (flags & kFlagDecodedLength) {
    if (!in.varint(length)) return false;
    entry.decoded_length = length;
  }
  entry.status = static_cast<int>(status);
  entry.stored_at = base::WallTime(duration_cast<base::WallTime::duration>(milliseconds(stored_at_ms)));
  entry.ttl = milliseconds(ttl_ms);
  entry.initial_age_seconds = static_cast<int64_t>(age);
  entry.coded_here = (flags & kFlagCodedHere) != 0;
  entry.etag_weakened = (flags & kFlagEtagWeakened) != 0;

  std::string_view reason, identity;
  if (!in.str(reason) || !in.str(identity)) return false;
  entry.reason.assign(reason);
  entry.identity.assign(identity);
  return readHeaders(in, entry) && readVersions(in, entry) && in.remaining() == 0;
}

}  // namespace larder::cache
