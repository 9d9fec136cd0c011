#include "http/target.h"

#include <algorithm>
#include <array>

#include "base/hex.h"
#include "http/header_map.h"

namespace larder::http {

namespace {

using base::hexValue;

constexpr char kHexUpper[] = "0123456789ABCDEF";

constexpr bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

constexpr bool isSubDelim(unsigned char c) {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')':
    case '*': case '+': case ',': case ';': case '=':
      return true;
    default:
      return false;
  }
}

bool isForbidden(unsigned char c) { return c <= 0x20 || c == 0x7f || c == '#'; }

void appendEncoded(unsigned char c, std::string& out) {
  out += '%';
  out += kHexUpper[c >> 4];
  out += kHexUpper[c & 0xf];
}

// RFC 3986 §6.2.2.1–2: %XX of an unreserved character is decoded, every
// other %XX gets upper-case hex. Bytes that may not appear raw in a path
// (non-ASCII, '"', '<', '{', ...) are percent-encoded, the equivalent form.
// Returns false on a bad escape or a forbidden byte.
// Bytes a path keeps as they are: unreserved, sub-delims, ':', '@', '/'.
constexpr std::array<bool, 256> kPathAsIs = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    const auto byte = static_cast<unsigned char>(c);
    table[c] = isUnreserved(byte) || isSubDelim(byte) || byte == ':' || byte == '@' || byte == '/';
  }
  return table;
}();

bool normalizeEncoding(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    // Runs of bytes kept as they are go in one append, not byte by byte
    // (most paths are one such run; issue 13).
    const size_t run = i;
    while (i < in.size() && kPathAsIs[static_cast<unsigned char>(in[i])]) ++i;
    if (i > run) out.append(in.substr(run, i - run));
    if (i == in.size()) break;
    const auto c = static_cast<unsigned char>(in[i]);
    if (isForbidden(c)) return false;
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hexValue(in[i + 1]);
      const int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      const auto decoded = static_cast<unsigned char>(hi * 16 + lo);
      if (isUnreserved(decoded)) {
        out += static_cast<char>(decoded);
      } else {
        appendEncoded(decoded, out);
      }
      i += 2;
      continue;
    }
    if (isUnreserved(c) || isSubDelim(c) || c == ':' || c == '@' || c == '/') {
      out += static_cast<char>(c);
    } else {
      appendEncoded(c, out);
    }
  }
  return true;
}

// RFC 3986 §5.2.4 dot-segment removal, with empty segments ("//") dropped.
// A path that ends in "/", "/." or "/.." keeps a trailing slash.
std::string removeDotSegments(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  bool trailing_slash = false;
  size_t i = 0;
  while (i < path.size()) {
    // Each iteration starts on a '/'.
    size_t end = path.find('/', i + 1);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(i + 1, end - i - 1);
    trailing_slash = false;
    if (segment.empty() || segment == ".") {
      trailing_slash = true;
    } else if (segment == "..") {
      const size_t last = out.rfind('/');
      out.resize(last == std::string::npos ? 0 : last);
      trailing_slash = true;
    } else {
      out += '/';
      out += segment;
    }
    i = end;
  }
  if (out.empty() || trailing_slash) out += '/';
  return out;
}

bool validQuery(std::string_view query) {
  for (size_t i = 0; i < query.size(); ++i) {
    const auto c = static_cast<unsigned char>(query[i]);
    if (isForbidden(c)) return false;
    if (c == '%') {
      if (i + 2 >= query.size() || hexValue(query[i + 1]) < 0 || hexValue(query[i + 2]) < 0) {
        return false;
      }
      i += 2;
    }
  }
  return true;
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && equalsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

}  // namespace

std::optional<Target> parseTarget(std::string_view target) {
  Target out;
  std::string_view rest = target;
  if (rest.empty() || rest == "*") return std::nullopt;
  if (rest.front() != '/') {
    // Absolute-form (RFC 9112 §3.2.2). Authority-form (CONNECT) and anything
    // else is an error.
    size_t scheme_len = 0;
    if (startsWithIgnoreCase(rest, "http://")) {
      scheme_len = 7;
    } else if (startsWithIgnoreCase(rest, "https://")) {
      scheme_len = 8;
    } else {
      return std::nullopt;
    }
    rest.remove_prefix(scheme_len);
    const size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
    std::string_view authority = rest.substr(0, authority_end);
    // Userinfo is deprecated in http URIs and a known spoofing vector.
    if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
    out.authority.reserve(authority.size());
    for (char ch : authority) {
      const auto c = static_cast<unsigned char>(ch);
      if (isForbidden(c) || c == '%') return std::nullopt;
      // Host names are case-insensitive (RFC 3986 §3.2.2).
      out.authority += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : static_cast<char>(c);
    }
    rest.remove_prefix(authority_end);
  }
  const size_t query_start = rest.find('?');
  std::string_view raw_path = rest.substr(0, query_start);
  if (query_start != std::string_view::npos) {
    out.has_query = true;
    std::string_view query = rest.substr(query_start + 1);
    if (!validQuery(query)) return std::nullopt;
    out.query.assign(query);
  }
  std::string decoded;
  if (raw_path.empty()) {
    decoded = "/";  // "http://host" and "http://host?q" mean "/"
  } else if (!normalizeEncoding(raw_path, decoded)) {
    return std::nullopt;
  }
  // No empty, "." or ".." segment (nor one that starts with a dot): the
  // path is already what removeDotSegments would make of it.
  if (decoded.find("//") == std::string::npos && decoded.find("/.") == std::string::npos) {
    out.path = std::move(decoded);
  } else {
    out.path = removeDotSegments(decoded);
  }
  return out;
}

namespace {

// "a=1&b&&c=" into pairs in order, each name and value passed through
// `transform`; empty pieces are dropped.
template <typename Transform>
QueryParams splitQuery(std::string_view query, Transform transform) {
  QueryParams params;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view piece = query.substr(0, amp);
    if (!piece.empty()) {
      const size_t eq = piece.find('=');
      if (eq == std::string_view::npos) {
        params.emplace_back(transform(piece), std::string());
      } else {
        params.emplace_back(transform(piece.substr(0, eq)), transform(piece.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return params;
}

}  // namespace

QueryParams parseQuery(std::string_view query) {
  auto normalized = [](std::string_view in) {
    std::string s(in);
    for (size_t i = 0; i + 2 < s.size(); ++i) {
      if (s[i] == '%' && hexValue(s[i + 1]) >= 0 && hexValue(s[i + 2]) >= 0) {
        s[i + 1] = kHexUpper[hexValue(s[i + 1])];
        s[i + 2] = kHexUpper[hexValue(s[i + 2])];
        i += 2;
      }
    }
    return s;
  };
  return splitQuery(query, normalized);
}

QueryParams decodeQuery(std::string_view query) {
  auto decoded = [](std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      const char c = in[i];
      if (c == '+') {
        out += ' ';
      } else if (c == '%' && i + 2 < in.size() && hexValue(in[i + 1]) >= 0 && hexValue(in[i + 2]) >= 0) {
        out += static_cast<char>(hexValue(in[i + 1]) * 16 + hexValue(in[i + 2]));
        i += 2;
      } else {
        out += c;
      }
    }
    return out;
  };
  return splitQuery(query, decoded);
}

namespace {

// One canonical spelling per decoded byte string (see canonicalQuery).
void appendQueryText(std::string_view in, bool is_value, std::string& out) {
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      out += '+';
    } else if (isUnreserved(c) || (isSubDelim(c) && c != '&' && c != '+' && c != '=') || c == ':' ||
               c == '@' || c == '/' || c == '?' || (is_value && c == '=')) {
      out += ch;
    } else {
      appendEncoded(c, out);
    }
  }
}

}  // namespace

std::string canonicalQuery(QueryParams decoded) {
  std::stable_sort(decoded.begin(), decoded.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  size_t size = 0;
  for (const auto& [name, value] : decoded) size += name.size() + value.size() + 2;
  out.reserve(size);
  bool first = true;
  for (const auto& [name, value] : decoded) {
    // "=" carries nothing, and would print as an empty piece that
    // decodeQuery drops: skipping it keeps canonical forms fixed points.
    if (name.empty() && value.empty()) continue;
    if (!first) out += '&';
    first = false;
    appendQueryText(name, false, out);
    if (!value.empty()) {
      out += '=';
      appendQueryText(value, true, out);
    }
  }
  return out;
}

}  // namespace larder::http
