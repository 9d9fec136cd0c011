// Internal to http/: a byte-level validator that runs ahead of llhttp over a
// message head (or a chunked trailer section). llhttp 8.1 in strict mode
// still accepts a few things that let a front end and a back end disagree on
// where a message ends (request smuggling), so every head byte passes through
// here before llhttp sees it:
//  - a bare LF (not preceded by CR) anywhere, and a CR not followed by LF;
//  - obsolete line folding (a field line starting with SP or HT);
//  - whitespace between a field name and its colon, and an empty field name;
//  - NUL and other control bytes (HT excepted);
//  - a head larger than the configured limit (431).
// The scanner also finds the end of the head (the first empty line after the
// start line), so the caller can hand llhttp exactly the validated bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/header_map.h"
#include "http/parse_error.h"

namespace larder::http {

class HeadScanner {
 public:
  enum class Status { kNeedMore, kComplete, kError };
  struct Result {
    Status status;
    size_t consumed;  // kComplete: bytes up to and including the final LF;
                      // kError: offset of the offending byte; else all bytes.
  };

  explicit HeadScanner(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // Starts a message head: leading empty lines are skipped (RFC 9112 §2.2),
  // the first line is a start line.
  void startHead();
  // Starts a trailer section: there is no start line, and an empty first line
  // ends it at once.
  void startTrailer();
  // Responses are read leniently in one respect: whitespace before the colon
  // is tolerated (the caller trims it, RFC 9112 §5.1 allows that for
  // responses), because real servers send it and it does not move framing.
  void setAllowSpaceBeforeColon(bool allow) { allow_space_before_colon_ = allow; }

  Result scan(std::string_view data);
  ParseError error() const { return error_; }
  const char* errorReason() const { return error_reason_; }

 private:
  Result fail(ParseError error, const char* reason, size_t at);

  uint64_t max_bytes_;
  uint64_t bytes_ = 0;
  bool allow_space_before_colon_ = false;
  bool prev_cr_ = false;
  bool at_line_start_ = true;
  bool line_empty_ = true;
  bool seen_start_ = false;  // a non-empty line has been seen
  bool in_name_ = false;     // inside a field name, before its colon
  ParseError error_ = ParseError::kNone;
  const char* error_reason_ = "";
};

// How the Transfer-Encoding fields of a message frame its body.
enum class TransferCoding {
  kAbsent,        // no Transfer-Encoding field
  kChunked,       // exactly one coding, "chunked"
  kOtherCodings,  // final coding chunked, preceded by others (e.g. gzip, chunked)
  kNotChunked,    // final coding is not chunked (e.g. gzip, xchunked)
  kInvalid,       // empty element list, or chunked more than once / not last
};
// Classifies every Transfer-Encoding field of `headers`, taken as one list.
TransferCoding classifyTransferEncoding(const HeaderMap& headers);

// Removes trailing SP/HT (RFC 9110 §5.5: they are not part of the value).
void trimTrailingWhitespace(std::string& value);

}  // namespace larder::http
