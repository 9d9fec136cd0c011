#include "http/head_scanner.h"

#include <algorithm>

#include "http/header_map.h"

namespace larder::http {

void HeadScanner::startHead() {
  bytes_ = 0;
  prev_cr_ = false;
  at_line_start_ = true;
  line_empty_ = true;
  seen_start_ = false;
  in_name_ = false;
}

void HeadScanner::startTrailer() {
  startHead();
  // The trailer has no start line: its first line is a field line or the
  // empty line that ends it.
  seen_start_ = true;
}

HeadScanner::Result HeadScanner::fail(ParseError error, const char* reason, size_t at) {
  error_ = error;
  error_reason_ = reason;
  return {Status::kError, at};
}

namespace {

// Bytes that change nothing inside a start line or a field value: visible
// ASCII, SP, HT, obs-text. CR, LF, other controls and DEL are not.
constexpr bool isValueByte(unsigned char c) { return (c >= 0x20 && c != 0x7f) || c == '\t'; }

struct ByteTables {
  bool value[256];
  bool name[256];  // the same, less ':' and whitespace, inside a field name
};

constexpr ByteTables makeTables() {
  ByteTables t{};
  for (int c = 0; c < 256; ++c) {
    const auto byte = static_cast<unsigned char>(c);
    t.value[c] = isValueByte(byte);
    t.name[c] = isValueByte(byte) && byte != ':' && byte != ' ' && byte != '\t';
  }
  return t;
}

constexpr ByteTables kBytes = makeTables();

}  // namespace

HeadScanner::Result HeadScanner::scan(std::string_view data) {
  for (size_t i = 0; i < data.size(); ++i) {
    // Inside a line, past its first byte, most bytes change no state: they
    // are counted and skipped in one tight loop (a request head cost ~30
    // instructions a byte byte by byte; issue 13). The byte it stops at,
    // if any, takes the full path below, the limit check included.
    if (!prev_cr_ && !at_line_start_) {
      const bool* plain = in_name_ ? kBytes.name : kBytes.value;
      size_t end = data.size();
      if (max_bytes_ != 0) end = std::min<uint64_t>(end, i + (bytes_ < max_bytes_ ? max_bytes_ - bytes_ : 0));
      const size_t from = i;
      while (i < end && plain[static_cast<unsigned char>(data[i])]) ++i;
      bytes_ += i - from;
      if (i == data.size()) break;
    }
    // Counting before looking at the byte makes the limit exact: a head of
    // max_bytes_ bytes passes, one more byte is 431.
    if (max_bytes_ != 0 && ++bytes_ > max_bytes_) {
      return fail(ParseError::kHeadersTooLarge, "header section too large", i);
    }
    const auto c = static_cast<unsigned char>(data[i]);
    if (prev_cr_) {
      if (c != '\n') return fail(ParseError::kMalformed, "CR not followed by LF", i);
      prev_cr_ = false;
      if (line_empty_ && seen_start_) return {Status::kComplete, i + 1};
      // An empty line before the start line is skipped, as llhttp does.
      at_line_start_ = true;
      line_empty_ = true;
      in_name_ = false;
      continue;
    }
    if (c == '\r') {
      prev_cr_ = true;
      continue;
    }
    if (c == '\n') return fail(ParseError::kMalformed, "bare LF in header section", i);
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return fail(ParseError::kMalformed, "control byte in header section", i);
    }
    if (at_line_start_) {
      at_line_start_ = false;
      line_empty_ = false;
      if (!seen_start_) {
        seen_start_ = true;  // the start line: llhttp checks its syntax
        continue;
      }
      // RFC 9112 §5.2: obs-fold is rejected, never unfolded.
      if (c == ' ' || c == '\t') return fail(ParseError::kMalformed, "obsolete line folding", i);
      if (c == ':') return fail(ParseError::kMalformed, "empty field name", i);
      in_name_ = true;
      continue;
    }
    if (in_name_) {
      if (c == ':') {
        in_name_ = false;
      } else if ((c == ' ' || c == '\t') && !allow_space_before_colon_) {
        // RFC 9112 §5.1: a server MUST reject whitespace before the colon.
        return fail(ParseError::kMalformed, "whitespace before colon", i);
      }
    }
  }
  return {Status::kNeedMore, data.size()};
}

namespace {


}  // namespace

TransferCoding classifyTransferEncoding(const HeaderMap& headers) {
  bool present = false;
  int chunked_count = 0;
  bool last_is_chunked = false;
  bool others = false;
  bool any_element = false;
  for (const Header& h : headers) {
    if (!equalsIgnoreCase(h.name, "transfer-encoding")) continue;
    present = true;
    std::string_view rest = h.value;
    while (true) {
      const size_t comma = rest.find(',');
      std::string_view element = trimOws(rest.substr(0, comma));
      if (!element.empty()) {
        any_element = true;
        // A coding may carry parameters ("gzip;q=1"); only the name counts.
        std::string_view name = trimOws(element.substr(0, element.find(';')));
        const bool is_chunked = equalsIgnoreCase(name, "chunked") && name.size() == element.size();
        if (is_chunked) {
          ++chunked_count;
        } else {
          others = true;
        }
        last_is_chunked = is_chunked;
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (!present) return TransferCoding::kAbsent;
  if (!any_element) return TransferCoding::kInvalid;
  // RFC 9112 §6.1: chunked MUST NOT be applied more than once, and when
  // present it MUST be the final coding.
  if (chunked_count > 1 || (chunked_count == 1 && !last_is_chunked)) return TransferCoding::kInvalid;
  if (!last_is_chunked) return TransferCoding::kNotChunked;
  return others ? TransferCoding::kOtherCodings : TransferCoding::kChunked;
}

void trimTrailingWhitespace(std::string& value) {
  size_t end = value.size();
  while (end > 0 && isOws(value[end - 1])) --end;
  value.resize(end);
}

}  // namespace larder::http
