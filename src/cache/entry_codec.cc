#include "cache/entry_codec.h"

namespace larder::cache {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr std::string_view kMagic = "LRDR";
// 2200-01-01T00:00:00Z. A nanosecond system_clock ends in 2262, so stored_at
// plus a TTL of up to ten years never overflows it.
constexpr int64_t kMaxStoredAtMs = 7258118400000;
constexpr int64_t kMaxTtlMs = kMaxEntryTtl.count();
constexpr int64_t kMaxAgeSeconds = std::chrono::duration_cast<std::chrono::seconds>(kMaxEntryTtl).count();
constexpr uint8_t kFlagDecodedLength = 1;
constexpr uint8_t kFlagCodedHere = 2;
constexpr uint8_t kFlagEtagWeakened = 4;
// Smallest encoding of one header field or version: two empty strs.
constexpr size_t kMinPairBytes = 8;

void putU8(std::string& out, uint8_t v) { out += static_cast<char>(v); }

void putLittleEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void putStr(std::string& out, std::string_view s) {
  putLittleEndian(out, static_cast<uint32_t>(s.size()), 4);
  out.append(s);
}

// A bounds-checked cursor over the input; every read fails once past the end
// and leaves the cursor where it was.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }

  bool bytes(size_t n, std::string_view& out) {
    if (n > remaining()) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool littleEndian(int n, uint64_t& out) {
    std::string_view raw;
    if (!bytes(static_cast<size_t>(n), raw)) return false;
    out = 0;
    for (int i = 0; i < n; ++i) out |= uint64_t{static_cast<unsigned char>(raw[i])} << (8 * i);
    return true;
  }
  bool i64InRange(int64_t min, int64_t max, int64_t& out) {
    uint64_t raw = 0;
    if (!littleEndian(8, raw)) return false;
    out = static_cast<int64_t>(raw);
    return out >= min && out <= max;
  }
  bool str(std::string_view& out) {
    uint64_t size = 0;
    return littleEndian(4, size) && bytes(static_cast<size_t>(size), out);
  }
  // A count of pairs, each at least kMinPairBytes long: bounding it by the
  // bytes left makes the reserve() below safe against a forged count.
  bool count(uint32_t cap, uint32_t& out) {
    uint64_t raw = 0;
    if (!littleEndian(4, raw)) return false;
    if (raw > cap || raw > remaining() / kMinPairBytes) return false;
    out = static_cast<uint32_t>(raw);
    return true;
  }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

bool operator==(const Entry& a, const Entry& b) {
  if (a.status != b.status || a.reason != b.reason || a.body != b.body ||
      a.stored_at != b.stored_at || a.ttl != b.ttl ||
      a.initial_age_seconds != b.initial_age_seconds || a.identity != b.identity ||
      a.versions != b.versions || a.decoded_length != b.decoded_length || a.coded_here != b.coded_here ||
      a.etag_weakened != b.etag_weakened ||
      a.headers.size() != b.headers.size()) {
    return false;
  }
  for (size_t i = 0; i < a.headers.size(); ++i) {
    const http::Header& x = a.headers.fields()[i];
    const http::Header& y = b.headers.fields()[i];
    if (x.name != y.name || x.value != y.value) return false;
  }
  return true;
}

std::string encodeEntry(const Entry& entry) {
  const bool coded = entry.decoded_length || entry.coded_here || entry.etag_weakened;
  size_t size = kMagic.size() + 1 + 2 + 3 * 8 + 9 + 5 * 4 + entry.reason.size() + entry.identity.size() +
                entry.body.size();
  for (const http::Header& h : entry.headers) size += 8 + h.name.size() + h.value.size();
  for (const auto& [key, token] : entry.versions) size += 8 + key.size() + token.size();
  std::string out;
  out.reserve(size);
  out.append(kMagic);
  putU8(out, coded ? kCodedEntryFormatVersion : kEntryFormatVersion);
  putLittleEndian(out, static_cast<uint16_t>(entry.status), 2);
  putLittleEndian(out, static_cast<uint64_t>(duration_cast<milliseconds>(entry.stored_at.time_since_epoch()).count()), 8);
  putLittleEndian(out, static_cast<uint64_t>(entry.ttl.count()), 8);
  putLittleEndian(out, static_cast<uint64_t>(entry.initial_age_seconds), 8);
  if (coded) {
    putU8(out, static_cast<uint8_t>((entry.decoded_length ? kFlagDecodedLength : 0) |
                                    (entry.coded_here ? kFlagCodedHere : 0) |
                                    (entry.etag_weakened ? kFlagEtagWeakened : 0)));
    if (entry.decoded_length) putLittleEndian(out, *entry.decoded_length, 8);
  }
  putStr(out, entry.reason);
  putStr(out, entry.identity);
  putLittleEndian(out, static_cast<uint32_t>(entry.headers.size()), 4);
  for (const http::Header& h : entry.headers) {
    putStr(out, h.name);
    putStr(out, h.value);
  }
  putLittleEndian(out, static_cast<uint32_t>(entry.versions.size()), 4);
  for (const auto& [key, token] : entry.versions) {
    putStr(out, key);
    putStr(out, token);
  }
  putStr(out, entry.body);
  return out;
}

std::optional<Entry> decodeEntry(std::string_view bytes) {
  Reader in(bytes);
  std::string_view magic;
  uint64_t version = 0;
  if (!in.bytes(kMagic.size(), magic) || magic != kMagic) return std::nullopt;
  if (!in.littleEndian(1, version) || (version != kEntryFormatVersion && version != kCodedEntryFormatVersion))
    return std::nullopt;

  Entry entry;
  uint64_t status = 0;
  if (!in.littleEndian(2, status) || status < 100 || status > 999) return std::nullopt;
  entry.status = static_cast<int>(status);
  int64_t stored_at_ms = 0, ttl_ms = 0;
  if (!in.i64InRange(0, kMaxStoredAtMs, stored_at_ms)) return std::nullopt;
  if (!in.i64InRange(0, kMaxTtlMs, ttl_ms)) return std::nullopt;
  if (!in.i64InRange(0, kMaxAgeSeconds, entry.initial_age_seconds)) return std::nullopt;
  if (version == kCodedEntryFormatVersion) {
    uint64_t flags = 0;
    // No flag at all is written as version 1: one encoding per entry.
    if (!in.littleEndian(1, flags) || flags == 0 ||
        (flags & ~uint64_t{kFlagDecodedLength | kFlagCodedHere | kFlagEtagWeakened}) != 0)
      return std::nullopt;
    if (flags & kFlagDecodedLength) {
      uint64_t length = 0;
      if (!in.littleEndian(8, length)) return std::nullopt;
      entry.decoded_length = length;
    }
    entry.coded_here = (flags & kFlagCodedHere) != 0;
    entry.etag_weakened = (flags & kFlagEtagWeakened) != 0;
  }
  entry.stored_at = base::WallTime(duration_cast<base::WallTime::duration>(milliseconds(stored_at_ms)));
  entry.ttl = milliseconds(ttl_ms);

  std::string_view reason, identity;
  if (!in.str(reason) || !in.str(identity)) return std::nullopt;
  entry.reason.assign(reason);
  entry.identity.assign(identity);

  uint32_t header_count = 0;
  if (!in.count(kMaxHeaders, header_count)) return std::nullopt;
  auto& fields = entry.headers.fields();
  fields.reserve(header_count);
  for (uint32_t i = 0; i < header_count; ++i) {
    std::string_view name, value;
    if (!in.str(name) || !in.str(value)) return std::nullopt;
    fields.push_back(http::Header{std::string(name), std::string(value)});
  }

  uint32_t version_count = 0;
  if (!in.count(kMaxVersions, version_count)) return std::nullopt;
  entry.versions.reserve(version_count);
  for (uint32_t i = 0; i < version_count; ++i) {
    std::string_view key, token;
    if (!in.str(key) || !in.str(token)) return std::nullopt;
    entry.versions.emplace_back(std::string(key), std::string(token));
  }

  std::string_view body;
  if (!in.str(body)) return std::nullopt;
  if (in.remaining() != 0) return std::nullopt;
  entry.body.assign(body);
  return entry;
}

}  // namespace larder::cache
