#include "harness/http_wire.h"

#include <cctype>

namespace larder::test {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

void addHeaderLine(Headers& headers, std::string_view line) {
  if (!headers.empty() && (line.front() == ' ' || line.front() == '\t')) {
    headers.back().second += ' ';
    headers.back().second += trim(line);
    return;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    headers.emplace_back(std::string(line), std::string());
    return;
  }
  headers.emplace_back(std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1))));
}

}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string headerValue(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) return v;
  }
  return {};
}

bool hasHeader(const Headers& headers, std::string_view name) {
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) return true;
  }
  return false;
}

std::vector<std::string> headerValues(const Headers& headers, std::string_view name) {
  std::vector<std::string> values;
  for (const auto& [n, v] : headers) {
    if (equalsIgnoreCase(n, name)) values.push_back(v);
  }
  return values;
}

bool headerHasToken(const Headers& headers, std::string_view name, std::string_view token) {
  for (const auto& [n, v] : headers) {
    if (!equalsIgnoreCase(n, name)) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      if (equalsIgnoreCase(trim(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

IoStatus readHead(StreamReader& reader, MessageHead& head, Deadline deadline, size_t max_size) {
  head = MessageHead{};
  reader.takeCapture();
  reader.setCapture(true);
  std::string line;
  IoStatus st = reader.readLine(line, deadline, max_size);
  // Tolerate empty lines before a message (RFC 9112 §2.2).
  while (st == IoStatus::kOk && line.empty()) st = reader.readLine(line, deadline, max_size);
  if (st == IoStatus::kOk) {
    head.start_line = line;
    for (;;) {
      st = reader.readLine(line, deadline, max_size);
      if (st != IoStatus::kOk || line.empty()) break;
      addHeaderLine(head.headers, line);
    }
  }
  reader.setCapture(false);
  head.raw = reader.takeCapture();
  if (st == IoStatus::kOk && head.raw.size() > max_size) return IoStatus::kMalformed;
  return st;
}

bool parseChunkSize(std::string_view line, uint64_t& size) {
  line = trim(line.substr(0, line.find(';')));
  if (line.empty() || line.size() > 15) return false;
  size = 0;
  for (char c : line) {
    int digit;
    if (c >= '0' && c <= '9') digit = c - '0';
    else if (c >= 'a' && c <= 'f') digit = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') digit = c - 'A' + 10;
    else return false;
    size = size * 16 + static_cast<uint64_t>(digit);
  }
  return true;
}

IoStatus readChunkedBody(StreamReader& reader, Deadline deadline, const Sink& sink, Headers* trailers) {
  std::string line;
  for (;;) {
    if (IoStatus st = reader.readLine(line, deadline, 4096); st != IoStatus::kOk) return st;
    uint64_t size = 0;
    if (!parseChunkSize(line, size)) return IoStatus::kMalformed;
    if (size == 0) break;
    if (IoStatus st = reader.readExact(size, deadline, sink); st != IoStatus::kOk) return st;
    if (IoStatus st = reader.readLine(line, deadline, 4096); st != IoStatus::kOk) return st;
    if (!line.empty()) return IoStatus::kMalformed;
  }
  for (;;) {
    if (IoStatus st = reader.readLine(line, deadline, 64 * 1024); st != IoStatus::kOk) return st;
    if (line.empty()) return IoStatus::kOk;
    if (trailers) addHeaderLine(*trailers, line);
  }
}

}  // namespace larder::test
