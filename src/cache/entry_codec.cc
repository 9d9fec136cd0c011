#include "cache/entry_codec.h"

#include <bit>
#include <cstring>
#include <random>

#include "cache/compact_fields.h"
#include "cache/entry_fields.h"

namespace larder::cache {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

using namespace entry_fields;

constexpr std::string_view kMagic = "LRDR";
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
// and leaves the cursor where it was. Fixed-width integers are loaded whole
// (memcpy, then swapped on a big-endian host), not byte by byte: a hit
// decodes some thirty of them (issue 13).
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

  bool bytes(size_t n, std::string_view& out) {
    if (n > remaining()) return false;
    out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool fixed(T& out) {
    if (sizeof(T) > remaining()) return false;
    std::memcpy(&out, in_.data() + pos_, sizeof(T));
    if constexpr (std::endian::native == std::endian::big) out = byteswap(out);
    pos_ += sizeof(T);
    return true;
  }
  bool littleEndian(int n, uint64_t& out) {
    switch (n) {
      case 1: { uint8_t v = 0; if (!fixed(v)) return false; out = v; return true; }
      case 2: { uint16_t v = 0; if (!fixed(v)) return false; out = v; return true; }
      case 4: { uint32_t v = 0; if (!fixed(v)) return false; out = v; return true; }
      case 8: return fixed(out);
      default: return false;
    }
  }
  bool i64InRange(int64_t min, int64_t max, int64_t& out) {
    uint64_t raw = 0;
    if (!fixed(raw)) return false;
    out = static_cast<int64_t>(raw);
    return out >= min && out <= max;
  }
  bool str(std::string_view& out) {
    uint32_t size = 0;
    if (!fixed(size)) return false;
    if (size > remaining()) {
      pos_ -= sizeof(size);
      return false;
    }
    out = in_.substr(pos_, size);
    pos_ += size;
    return true;
  }
  // A count of pairs, each at least kMinPairBytes long: bounding it by the
  // bytes left makes the reserve() below safe against a forged count.
  bool count(uint32_t cap, uint32_t& out) {
    uint32_t raw = 0;
    if (!fixed(raw)) return false;
    if (raw > cap || raw > remaining() / kMinPairBytes) return false;
    out = raw;
    return true;
  }

 private:
  template <typename T>
  static T byteswap(T v) {
    T swapped = 0;
    for (size_t i = 0; i < sizeof(T); ++i) swapped = static_cast<T>((swapped << 8) | ((v >> (8 * i)) & 0xff));
    return swapped;
  }

  std::string_view in_;
  size_t pos_ = 0;
};

}  // namespace

bool operator==(const Entry& a, const Entry& b) {
  if (a.status != b.status || a.reason != b.reason || a.body != b.body ||
      a.stored_at != b.stored_at || a.ttl != b.ttl ||
      a.initial_age_seconds != b.initial_age_seconds || a.identity != b.identity ||
      a.versions != b.versions || a.decoded_length != b.decoded_length || a.coded_here != b.coded_here ||
      a.etag_weakened != b.etag_weakened || a.tag != b.tag ||
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

namespace {

// Every field but the body, as formats 1 to 4 write them. `flags`: write
// the flags byte (formats 2 and 3).
void putFields(std::string& out, const Entry& entry, bool flags) {
  putLittleEndian(out, static_cast<uint16_t>(entry.status), 2);
  putLittleEndian(out, static_cast<uint64_t>(duration_cast<milliseconds>(entry.stored_at.time_since_epoch()).count()), 8);
  putLittleEndian(out, static_cast<uint64_t>(entry.ttl.count()), 8);
  putLittleEndian(out, static_cast<uint64_t>(entry.initial_age_seconds), 8);
  if (flags) {
    putU8(out, flagsOf(entry));
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
}

enum class FlagsRule { kAbsent, kNonZero, kAny };

// Reads what putFields wrote into `entry`; false on anything malformed.
bool readFields(Reader& in, Entry& entry, FlagsRule flags_rule) {
  uint64_t status = 0;
  if (!in.littleEndian(2, status) || status < 100 || status > 999) return false;
  entry.status = static_cast<int>(status);
  int64_t stored_at_ms = 0, ttl_ms = 0;
  if (!in.i64InRange(0, kMaxStoredAtMs, stored_at_ms)) return false;
  if (!in.i64InRange(0, kMaxTtlMs, ttl_ms)) return false;
  if (!in.i64InRange(0, kMaxAgeSeconds, entry.initial_age_seconds)) return false;
  if (flags_rule != FlagsRule::kAbsent) {
    uint64_t flags = 0;
    if (!in.littleEndian(1, flags) || (flags & ~uint64_t{kKnownFlags}) != 0)
      return false;
    // Format 2 with no flag at all is written as format 1: one encoding per entry.
    if (flags == 0 && flags_rule == FlagsRule::kNonZero) return false;
    if (flags & kFlagDecodedLength) {
      uint64_t length = 0;
      if (!in.littleEndian(8, length)) return false;
      entry.decoded_length = length;
    }
    entry.coded_here = (flags & kFlagCodedHere) != 0;
    entry.etag_weakened = (flags & kFlagEtagWeakened) != 0;
  }
  entry.stored_at = base::WallTime(duration_cast<base::WallTime::duration>(milliseconds(stored_at_ms)));
  entry.ttl = milliseconds(ttl_ms);

  std::string_view reason, identity;
  if (!in.str(reason) || !in.str(identity)) return false;
  entry.reason.assign(reason);
  entry.identity.assign(identity);

  uint32_t header_count = 0;
  if (!in.count(kMaxHeaders, header_count)) return false;
  auto& fields = entry.headers.fields();
  fields.reserve(header_count + kServedFieldsHeadroom);
  for (uint32_t i = 0; i < header_count; ++i) {
    std::string_view name, value;
    if (!in.str(name) || !in.str(value)) return false;
    fields.push_back(http::Header{std::string(name), std::string(value)});
  }

  uint32_t version_count = 0;
  if (!in.count(kMaxVersions, version_count)) return false;
  entry.versions.reserve(version_count);
  for (uint32_t i = 0; i < version_count; ++i) {
    std::string_view key, token;
    if (!in.str(key) || !in.str(token)) return false;
    entry.versions.emplace_back(key, token);
  }
  return true;
}

// Body first: body, fields, [tag u64,] body_length u32, version u8, magic.
constexpr size_t kTrailerBytes = 4 + 1 + kMagic.size();
static_assert(kEntryTagBytes == 8 + kTrailerBytes);

// A body that could make a body-first encoding start like a head-first one
// ("LRD" then a status whose low byte is 'R' would): such bodies are
// written head first.
bool mayPassForMagic(std::string_view body) {
  const std::string_view head = body.substr(0, kMagic.size());
  return !head.empty() && kMagic.starts_with(head);
}

bool isHeadFirst(std::string_view bytes) {
  return bytes.size() >= kMagic.size() + 1 && bytes.starts_with(kMagic) &&
         (bytes[kMagic.size()] == static_cast<char>(kEntryFormatVersion) ||
          bytes[kMagic.size()] == static_cast<char>(kCodedEntryFormatVersion));
}

bool isTagged(uint8_t version) { return version == kTaggedFormatVersion || version == kCompactTaggedFormatVersion; }
bool isCompact(uint8_t version) { return version == kCompactFormatVersion || version == kCompactTaggedFormatVersion; }

// The body-first format version `bytes` end in (3 to 6); 0 if none.
uint8_t bodyFirstVersion(std::string_view bytes) {
  if (bytes.size() < kTrailerBytes || !bytes.ends_with(kMagic)) return 0;
  const auto version = static_cast<uint8_t>(bytes[bytes.size() - kMagic.size() - 1]);
  if (version < kBodyFirstFormatVersion || version > kCompactTaggedFormatVersion) return 0;
  if (isTagged(version) && bytes.size() < kEntryTagBytes) return 0;
  return version;
}

struct BodySpan {
  size_t offset = 0;
  size_t length = 0;
};

// Decodes every field but the body into `entry`; where the body is.
std::optional<BodySpan> decodeFields(std::string_view bytes, Entry& entry) {
  if (isHeadFirst(bytes)) {
    Reader in(bytes.substr(kMagic.size() + 1));
    const bool coded = bytes[kMagic.size()] == static_cast<char>(kCodedEntryFormatVersion);
    if (!readFields(in, entry, coded ? FlagsRule::kNonZero : FlagsRule::kAbsent)) return std::nullopt;
    std::string_view body;
    if (!in.str(body) || in.remaining() != 0) return std::nullopt;
    return BodySpan{kMagic.size() + 1 + in.position() - body.size(), body.size()};
  }
  const uint8_t version = bodyFirstVersion(bytes);
  if (version == 0) return std::nullopt;
  const size_t trailer_bytes = isTagged(version) ? kEntryTagBytes : kTrailerBytes;
  Reader trailer(bytes.substr(bytes.size() - trailer_bytes, trailer_bytes - kTrailerBytes + 4));
  uint64_t body_length = 0;
  if (isTagged(version) && (!trailer.fixed(entry.tag) || entry.tag == 0)) return std::nullopt;
  if (!trailer.littleEndian(4, body_length) || body_length > bytes.size() - trailer_bytes) return std::nullopt;
  // encodeEntry writes such a body head first (see the header).
  if (mayPassForMagic(bytes.substr(0, body_length))) return std::nullopt;
  const std::string_view fields = bytes.substr(body_length, bytes.size() - trailer_bytes - body_length);
  if (isCompact(version)) {
    if (!readCompactFields(fields, entry)) return std::nullopt;
  } else {
    Reader in(fields);
    if (!readFields(in, entry, FlagsRule::kAny) || in.remaining() != 0) return std::nullopt;
  }
  return BodySpan{0, body_length};
}

}  // namespace

std::string encodeEntry(const Entry& entry, EntryLayout layout) {
  const bool body_first = layout != EntryLayout::kHeadFirst && !mayPassForMagic(entry.body);
  const bool flags = body_first || entry.decoded_length || entry.coded_here || entry.etag_weakened;
  // The fixed-width layouts' size: room for the compact one too, but for a
  // decoded_length past 2^56 (a reserve, not a limit).
  size_t size = kMagic.size() + 1 + 2 + 4 * 8 + 9 + 5 * 4 + entry.reason.size() + entry.identity.size() +
                entry.body.size();
  for (const http::Header& h : entry.headers) size += 8 + h.name.size() + h.value.size();
  for (const auto& [key, token] : entry.versions) size += 8 + key.size() + token.size();
  std::string out;
  out.reserve(size);
  if (body_first) {
    const bool compact = layout == EntryLayout::kCompact;
    out.append(entry.body);
    if (compact) {
      putCompactFields(out, entry);
    } else {
      putFields(out, entry, true);
    }
    if (entry.tag != 0) putLittleEndian(out, entry.tag, 8);
    putLittleEndian(out, static_cast<uint32_t>(entry.body.size()), 4);
    if (compact) {
      putU8(out, entry.tag != 0 ? kCompactTaggedFormatVersion : kCompactFormatVersion);
    } else {
      putU8(out, entry.tag != 0 ? kTaggedFormatVersion : kBodyFirstFormatVersion);
    }
    out.append(kMagic);
    return out;
  }
  out.append(kMagic);
  putU8(out, flags ? kCodedEntryFormatVersion : kEntryFormatVersion);
  putFields(out, entry, flags);
  putStr(out, entry.body);
  return out;
}

std::optional<EntryLayout> layoutOf(std::string_view bytes) {
  if (isHeadFirst(bytes)) return EntryLayout::kHeadFirst;
  const uint8_t version = bodyFirstVersion(bytes);
  if (version == 0) return std::nullopt;
  return isCompact(version) ? EntryLayout::kCompact : EntryLayout::kBodyFirst;
}

std::string_view entryTagOf(std::string_view bytes) {
  if (!isTagged(bodyFirstVersion(bytes))) return {};
  return bytes.substr(bytes.size() - kEntryTagBytes);
}

uint64_t newEntryTag() {
  // Per thread: workers store concurrently. Seeded once from the system's
  // entropy, so that two processes (two instances sharing a Redis) do not
  // draw the same sequence.
  thread_local std::mt19937_64 generator([] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }());
  uint64_t tag = 0;
  while (tag == 0) tag = generator();
  return tag;
}

std::optional<Entry> decodeEntry(std::string_view bytes) {
  Entry entry;
  const std::optional<BodySpan> body = decodeFields(bytes, entry);
  if (!body) return std::nullopt;
  entry.body.assign(bytes.substr(body->offset, body->length));
  return entry;
}

std::optional<Entry> decodeOwnedEntry(std::string&& bytes) {
  Entry entry;
  const std::optional<BodySpan> body = decodeFields(bytes, entry);
  if (!body) return std::nullopt;
  // Body first: a truncation. Head first: the body is the tail, moved to the
  // front in place (no allocation).
  if (body->offset == 0) {
    bytes.resize(body->length);
  } else {
    bytes.erase(0, body->offset);
  }
  entry.body = std::move(bytes);
  return entry;
}

std::optional<Entry> decodeEntryBytes(EntryBytes&& bytes) {
  if (bytes.sharedBytes()) return decodeSharedEntry(bytes.sharedBytes());
  std::optional<std::string> owned = std::move(bytes).takeOwned();
  if (!owned) return std::nullopt;
  return decodeOwnedEntry(std::move(*owned));
}

std::optional<Entry> decodeSharedEntry(std::shared_ptr<const std::string> bytes) {
  Entry entry;
  const std::optional<BodySpan> body = decodeFields(*bytes, entry);
  if (!body) return std::nullopt;
  const std::string_view view = std::string_view(*bytes).substr(body->offset, body->length);
  entry.body = EntryBody::shared(std::move(bytes), view);
  return entry;
}

}  // namespace larder::cache
