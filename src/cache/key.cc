#include "cache/key.h"

#include <array>
#include <cstdint>
#include <random>

#include "base/decimal.h"
#include "base/hex.h"
#include "cache/digest.h"
#include "cache/vary.h"

namespace larder::cache {

namespace {

using http::isOws;
using http::trimOws;

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c; }

std::string lowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = lowerAscii(c);
  return out;
}

// "<decimal length>:<field>". Into space reserved by the caller: the
// identity is serialized with one allocation (RequestIdentity::serialize).
void appendLengthPrefixed(std::string& out, std::string_view field) {
  base::appendDecimal(out, field.size());
  out += ':';
  out += field;
}

size_t lengthPrefixedSize(std::string_view field) { return base::decimalLength(field.size()) + 1 + field.size(); }

void appendHex(std::string& out, uint64_t v) {
  for (int shift = 60; shift >= 0; shift -= 4) out += base::kLowerHexDigits[(v >> shift) & 0xf];
}

// ---- kCookie ---------------------------------------------------------------

std::optional<std::string> cookieValue(const http::HeaderMap& headers, std::string_view name) {
  std::optional<std::string> found;
  for (std::string_view field : headers.findAll("cookie")) {
    while (!field.empty()) {
      const size_t semi = field.find(';');
      std::string_view pair = trimOws(field.substr(0, semi));
      const size_t eq = pair.find('=');
      // Cookie names are case-sensitive (RFC 6265 §5.3 compares them exactly).
      if (eq != std::string_view::npos && trimOws(pair.substr(0, eq)) == name) {
        std::string_view value = trimOws(pair.substr(eq + 1));
        // Two different values for one name: which one the upstream uses is
        // unknown, so fail closed (DESIGN invariant 6).
        if (found && *found != value) return std::nullopt;
        found.emplace(value);
      }
      if (semi == std::string_view::npos) break;
      field.remove_prefix(semi + 1);
    }
  }
  if (found && found->empty()) return std::nullopt;
  return found;
}

// ---- kJwtClaim: base64url (RFC 4648 §5) -------------------------------------

int base64UrlValue(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

// Padding is optional (RFC 7515 §2 omits it); when present it must complete
// the last quantum.
std::optional<std::string> decodeBase64Url(std::string_view in) {
  const size_t padded_size = in.size();
  size_t padding = 0;
  while (!in.empty() && in.back() == '=' && padding < 2) {
    in.remove_suffix(1);
    ++padding;
  }
  if (padding > 0 && padded_size % 4 != 0) return std::nullopt;
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = base64UrlValue(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

// ---- kJwtClaim: a minimal JSON scanner (RFC 8259) ---------------------------
// Validates the whole document, so a malformed payload never yields a claim.
// Recursion is bounded; every read is bounds-checked.
class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : text_(text) {}

  // The claim's value when the document is one object holding `claim`
  // exactly once, as a string or a number (its text as written).
  std::optional<std::string> topLevelClaim(std::string_view claim) {
    skipWs();
    if (!consume('{')) return std::nullopt;
    std::optional<std::string> result;
    bool seen = false;
    skipWs();
    if (!consume('}')) {
      while (true) {
        std::string key;
        skipWs();
        if (!parseString(&key)) return std::nullopt;
        skipWs();
        if (!consume(':')) return std::nullopt;
        skipWs();
        if (key == claim) {
          // A duplicated claim is ambiguous (parsers keep the first or the
          // last): fail closed.
          if (seen) return std::nullopt;
          seen = true;
          std::string value;
          if (peek() == '"') {
            if (!parseString(&value)) return std::nullopt;
          } else if (peek() == '-' || (peek() >= '0' && peek() <= '9')) {
            const size_t start = pos_;
            if (!skipNumber()) return std::nullopt;
            value.assign(text_.substr(start, pos_ - start));
          } else {
            return std::nullopt;  // object, array, boolean, null: not an identity
          }
          result = std::move(value);
        } else if (!skipValue(0)) {
          return std::nullopt;
        }
        skipWs();
        if (consume(',')) continue;
        if (consume('}')) break;
        return std::nullopt;
      }
    }
    skipWs();
    if (pos_ != text_.size()) return std::nullopt;
    if (result && result->empty()) return std::nullopt;
    return result;
  }

 private:
  static constexpr int kMaxDepth = 32;

  char peek() const { return pos_ < text_.size() ? text_[pos_] : '\0'; }
  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void skipWs() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' || text_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool consumeLiteral(std::string_view literal) {
    if (text_.substr(pos_, literal.size()) != literal) return false;
    pos_ += literal.size();
    return true;
  }
  bool consumeDigits() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
    return pos_ > start;
  }

  bool skipNumber() {
    consume('-');
    if (consume('0')) {
      // no leading zeros
    } else if (!consumeDigits()) {
      return false;
    }
    if (consume('.') && !consumeDigits()) return false;
    if (consume('e') || consume('E')) {
      if (!consume('+')) consume('-');
      if (!consumeDigits()) return false;
    }
    return true;
  }

  std::optional<uint32_t> parseHex4() {
    if (text_.size() - pos_ < 4) return std::nullopt;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return std::nullopt;
      }
    }
    return v;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xc0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xe0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      out += static_cast<char>(0xf0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  // Parses a string into `out` (escapes decoded); `out` may be null to skip.
  bool parseString(std::string* out) {
    if (!consume('"')) return false;
    while (pos_ < text_.size()) {
      const char c = text_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (pos_ >= text_.size()) return false;
      const char e = text_[pos_++];
      char decoded = 0;
      switch (e) {
        case '"': decoded = '"'; break;
        case '\\': decoded = '\\'; break;
        case '/': decoded = '/'; break;
        case 'b': decoded = '\b'; break;
        case 'f': decoded = '\f'; break;
        case 'n': decoded = '\n'; break;
        case 'r': decoded = '\r'; break;
        case 't': decoded = '\t'; break;
        case 'u': {
          auto cp = parseHex4();
          if (!cp) return false;
          if (*cp >= 0xdc00 && *cp <= 0xdfff) return false;  // lone low surrogate
          if (*cp >= 0xd800 && *cp <= 0xdbff) {
            if (!consumeLiteral("\\u")) return false;
            auto low = parseHex4();
            if (!low || *low < 0xdc00 || *low > 0xdfff) return false;
            cp = 0x10000 + ((*cp - 0xd800) << 10) + (*low - 0xdc00);
          }
          if (out) appendUtf8(*out, *cp);
          continue;
        }
        default:
          return false;
      }
      if (out) *out += decoded;
    }
    return false;  // unterminated
  }

  bool skipValue(int depth) {
    if (depth > kMaxDepth) return false;
    switch (peek()) {
      case '"':
        return parseString(nullptr);
      case '{':
      case '[': {
        const char close = peek() == '{' ? '}' : ']';
        const bool is_object = close == '}';
        ++pos_;
        skipWs();
        if (consume(close)) return true;
        while (true) {
          skipWs();
          if (is_object) {
            if (!parseString(nullptr)) return false;
            skipWs();
            if (!consume(':')) return false;
            skipWs();
          }
          if (!skipValue(depth + 1)) return false;
          skipWs();
          if (consume(',')) continue;
          return consume(close);
        }
      }
      case 't':
        return consumeLiteral("true");
      case 'f':
        return consumeLiteral("false");
      case 'n':
        return consumeLiteral("null");
      default:
        return skipNumber();
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

bool isTokenChar(char c) { return c == '.' || base64UrlValue(c) >= 0 || c == '='; }

std::optional<std::string> jwtClaim(const http::HeaderMap& headers, std::string_view header_name,
                                    std::string_view claim) {
  const auto fields = headers.findAll(header_name.empty() ? "authorization" : header_name);
  if (fields.size() != 1) return std::nullopt;  // none, or ambiguous
  std::string_view token = trimOws(fields.front());
  // The auth-scheme is case-insensitive (RFC 9110 §11.1).
  constexpr std::string_view kBearer = "bearer";
  if (token.size() > kBearer.size() && http::equalsIgnoreCase(token.substr(0, kBearer.size()), kBearer) &&
      isOws(token[kBearer.size()])) {
    token = trimOws(token.substr(kBearer.size()));
  }
  for (char c : token) {
    if (!isTokenChar(c)) return std::nullopt;
  }
  // Compact JWS: header.payload.signature (RFC 7515 §7.1).
  const size_t first = token.find('.');
  if (first == std::string_view::npos) return std::nullopt;
  const size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  const auto payload = decodeBase64Url(token.substr(first + 1, second - first - 1));
  if (!payload) return std::nullopt;
  auto value = JsonScanner(*payload).topLevelClaim(claim);
  if (!value) return std::nullopt;
  // DESIGN invariant 6: the signature is not verified here, so the principal
  // is bound to the exact token. A forged token naming another user's claim
  // has another digest and can never hit that user's entries; a real token
  // hits its own entries for as long as the client reuses it.
  *value += '\0';
  *value += digestHex(token);
  return value;
}

}  // namespace

std::string RequestIdentity::serialize() const {
  // Sized exactly, so that it is one allocation (twice per hit before:
  // the estimate fell short by the length prefixes; issue 13).
  size_t size = 4 + lengthPrefixedSize(method_class) + lengthPrefixedSize(host) + lengthPrefixedSize(path) +
                lengthPrefixedSize(query) + base::decimalLength(vary.size()) + 1 + lengthPrefixedSize(principal);
  for (const auto& [name, value] : vary) size += lengthPrefixedSize(name) + lengthPrefixedSize(value);
  std::string out;
  out.reserve(size);
  // Version tag: a change of layout must never compare equal to an old one.
  out += "id1;";
  appendLengthPrefixed(out, method_class);
  appendLengthPrefixed(out, host);
  appendLengthPrefixed(out, path);
  appendLengthPrefixed(out, query);
  base::appendDecimal(out, vary.size());
  out += '#';
  for (const auto& [name, value] : vary) {
    appendLengthPrefixed(out, name);
    appendLengthPrefixed(out, value);
  }
  appendLengthPrefixed(out, principal);
  return out;
}

std::optional<std::string> extractPrincipal(const config::PrincipalSource& source,
                                            const http::HeaderMap& request_headers) {
  switch (source.kind) {
    case config::PrincipalSource::Kind::kHeader: {
      std::string joined;
      for (std::string_view value : request_headers.findAll(source.name)) {
        value = trimOws(value);
        if (value.empty()) continue;
        if (!joined.empty()) joined += ", ";
        joined += value;
      }
      if (joined.empty()) return std::nullopt;
      return joined;
    }
    case config::PrincipalSource::Kind::kCookie:
      return cookieValue(request_headers, source.name);
    case config::PrincipalSource::Kind::kJwtClaim:
      return jwtClaim(request_headers, source.name, source.claim);
  }
  return std::nullopt;
}

std::string normalizeHost(std::string_view host) {
  std::string out;
  appendNormalizedHost(out, host);
  return out;
}

// normalizeHost(host), appended to `out`: a key that holds a host is built
// in one string (uriNamespace, namespace keys; issue 13).
void appendNormalizedHost(std::string& out, std::string_view host) {
  // One pass lowers the bytes and notes the colons and a ']' after the last
  // one (it runs three times per request: forwarding, the identity, the
  // URI's namespace key; issue 13).
  const size_t start = out.size();
  out += host;
  char* lowered = out.data() + start;
  size_t first_colon = std::string_view::npos;
  size_t last_colon = std::string_view::npos;
  bool bracket_after_last_colon = false;
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = lowerAscii(host[i]);
    lowered[i] = c;
    if (c == ':') {
      if (first_colon == std::string_view::npos) first_colon = i;
      last_colon = i;
      bracket_after_last_colon = false;
    } else if (c == ']') {
      bracket_after_last_colon = true;
    }
  }
  // A port follows the last ':' unless that colon is inside an IPv6 literal.
  if (last_colon != std::string_view::npos && !bracket_after_last_colon) {
    const std::string_view port = std::string_view(lowered + last_colon + 1, host.size() - last_colon - 1);
    const bool bracketed_or_plain = lowered[0] == '[' || first_colon == last_colon;
    if (bracketed_or_plain && (port.empty() || port == "80")) out.resize(start + last_colon);
  }
}

RequestIdentity buildIdentity(std::string_view method, std::string_view host,
                              const http::Target& target, const config::Route& route,
                              const http::HeaderMap& request_headers, std::string principal,
                              const std::vector<std::string>& extra_vary) {
  RequestIdentity id;
  // RFC 9110 §9.3.2: HEAD is GET without the body, so both read one entry.
  id.method_class = (method == "HEAD") ? std::string("GET") : std::string(method);
  id.host = normalizeHost(host);
  id.path = target.path;
  // The proxy forwards exactly this text on read routes (invariant 11).
  id.query = keyedQuery(route, target.query);
  id.vary.reserve(route.vary.size() + extra_vary.size());
  auto add_varied = [&](const std::string& name) {
    const auto values = request_headers.findAll(name);
    std::string value;
    if (values.empty()) {
      value.assign(kAbsentHeader);
    } else {
      for (std::string_view v : values) {
        if (!value.empty()) value += ", ";
        value += v;
      }
      value = normalizeVaryValue(name, value);
      if (!value.empty() && value.front() == '\0') value.insert(value.begin(), '\0');
    }
    id.vary.emplace_back(lowerCopy(name), std::move(value));
  };
  for (const std::string& name : route.vary) add_varied(name);
  // A separator entry keeps route-keyed and upstream-varied fields apart.
  if (!extra_vary.empty()) id.vary.emplace_back("", "");
  for (const std::string& name : extra_vary) add_varied(name);
  id.principal = std::move(principal);
  return id;
}

std::string keyedQuery(const config::Route& route, std::string_view query) {
  http::QueryParams params = http::decodeQuery(query);
  std::erase_if(params, [&](const auto& param) { return !route.query.keeps(param.first); });
  return http::canonicalQuery(std::move(params));
}

std::vector<std::string> entryNamespaces(const config::Route& route, const config::Params& params,
                                         std::string_view host, std::string_view path) {
  std::vector<std::string> names;
  names.reserve(route.namespaces.size() + 2);
  for (const auto& ns : route.namespaces) names.push_back(ns.expand(params));
  names.push_back(uriNamespace(host, path));
  names.emplace_back(kEverythingNamespace);
  return names;
}

std::vector<std::string> writeNamespaces(const config::Route* route, const config::Params& params,
                                         std::string_view host, std::string_view path) {
  std::vector<std::string> names;
  if (route != nullptr)
    for (const auto& ns : route->invalidates) names.push_back(ns.expand(params));
  names.push_back(uriNamespace(host, path));
  return names;
}

std::string entryKey(std::string_view key_prefix, const RequestIdentity& identity) {
  return entryKeyOf(key_prefix, identity.serialize());
}

std::string entryKeyOf(std::string_view key_prefix, std::string_view serialized_identity) {
  constexpr std::string_view kInfix = ":e:";
  std::string out;
  out.reserve(key_prefix.size() + kInfix.size() + 32);
  out += key_prefix;
  out += kInfix;
  appendDigestHex(out, serialized_identity);
  return out;
}

std::string namespaceKey(std::string_view key_prefix, std::string_view ns) {
  constexpr std::string_view kInfix = ":ns:";
  std::string out;
  out.reserve(key_prefix.size() + kInfix.size() + ns.size());
  out += key_prefix;
  out += kInfix;
  out += ns;
  return out;
}

std::string epochKey(std::string_view key_prefix) {
  std::string out(key_prefix);
  out += ":epoch";
  return out;
}

std::string uriNamespace(std::string_view host, std::string_view path) {
  std::string out;
  out.reserve(4 + host.size() + path.size());
  out += "uri:";
  appendNormalizedHost(out, host);
  out += path;
  return out;
}

void appendEntryNamespaceKeys(std::string_view key_prefix, const config::Route& route, const config::Params& params,
                              std::string_view host, std::string_view path, std::vector<std::string>& out) {
  constexpr std::string_view kInfix = ":ns:";
  for (const auto& ns : route.namespaces) out.push_back(namespaceKey(key_prefix, ns.expand(params)));
  std::string uri;
  uri.reserve(key_prefix.size() + kInfix.size() + 4 + host.size() + path.size());
  uri += key_prefix;
  uri += kInfix;
  uri += "uri:";
  appendNormalizedHost(uri, host);
  uri += path;
  out.push_back(std::move(uri));
  out.push_back(namespaceKey(key_prefix, kEverythingNamespace));
}

std::string newVersionToken() {
  // Per thread: no locking, and each worker's stream is seeded on its own.
  thread_local std::mt19937_64 generator = [] {
    std::random_device device;
    std::array<std::random_device::result_type, 8> seed{};
    for (auto& word : seed) word = device();
    std::seed_seq sequence(seed.begin(), seed.end());
    return std::mt19937_64(sequence);
  }();
  std::string out;
  out.reserve(32);
  appendHex(out, generator());
  appendHex(out, generator());
  return out;
}

}  // namespace larder::cache
