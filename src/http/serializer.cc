#include "http/serializer.h"

#include <cstring>

#include "base/hex.h"

namespace larder::http {

namespace {

// Bytes of the fields and the blank line that ends the head.
size_t headersSize(const HeaderMap& headers) {
  size_t n = 2;
  for (const Header& h : headers) n += h.name.size() + h.value.size() + 4;
  return n;
}

// A cursor into space already made in the output (resize() once, then
// plain copies: a head is built without a capacity check per piece; a hit
// writes one per response, issue 13).
class Writer {
 public:
  Writer(std::string& out, size_t bytes) : out_(out), start_(out.size()) {
    out.resize(start_ + bytes);
    at_ = out.data() + start_;
  }
  void put(std::string_view text) {
    std::memcpy(at_, text.data(), text.size());
    at_ += text.size();
  }
  void put(char c) { *at_++ = c; }
  void putHeaders(const HeaderMap& headers) {
    for (const Header& h : headers) {
      put(h.name);
      put(": ");
      put(h.value);
      put("\r\n");
    }
    put("\r\n");
  }
  // Drops what was made and not written (a status of fewer digits than
  // reserved for it).
  void finish() { out_.resize(static_cast<size_t>(at_ - out_.data())); }

 private:
  std::string& out_;
  size_t start_;
  char* at_;
};

// Up to 10 digits for a non-negative int; a negative one writes 0.
constexpr size_t kStatusDigits = 10;

void putDecimal(Writer& out, int value) {
  char buf[12];
  char* end = buf + sizeof(buf);
  char* p = end;
  unsigned v = value < 0 ? 0u : static_cast<unsigned>(value);
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.put(std::string_view(p, static_cast<size_t>(end - p)));
}

}  // namespace

void appendHeaders(const HeaderMap& headers, std::string& out) {
  Writer writer(out, headersSize(headers));
  writer.putHeaders(headers);
  writer.finish();
}

void appendRequestHead(std::string_view method, std::string_view target, const HeaderMap& headers,
                       std::string& out) {
  constexpr std::string_view kVersion = " HTTP/1.1\r\n";
  Writer writer(out, method.size() + 1 + target.size() + kVersion.size() + headersSize(headers));
  writer.put(method);
  writer.put(' ');
  writer.put(target);
  writer.put(kVersion);
  writer.putHeaders(headers);
  writer.finish();
}

void appendResponseHead(int version_minor, int status, std::string_view reason,
                        const HeaderMap& headers, std::string& out) {
  constexpr std::string_view kVersion = "HTTP/1.1 ";
  Writer writer(out, kVersion.size() + kStatusDigits + 1 + reason.size() + 2 + headersSize(headers));
  writer.put(version_minor == 0 ? "HTTP/1.0 " : kVersion);
  putDecimal(writer, status);
  writer.put(' ');
  writer.put(reason);
  writer.put("\r\n");
  writer.putHeaders(headers);
  writer.finish();
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
  }
}

void appendChunkHeader(uint64_t size, std::string& out) {
  char buf[18];
  char* end = buf + sizeof(buf);
  char* p = end;
  *--p = '\n';
  *--p = '\r';
  do {
    *--p = base::kLowerHexDigits[size & 0xf];
    size >>= 4;
  } while (size != 0);
  out.append(p, end);
}

}  // namespace larder::http
