// Internal to http/: validates chunked framing (RFC 9112 §7.1) ahead of
// llhttp. The llhttp 8.1 sources are built without LLHTTP_STRICT_MODE, and
// that build takes "CR + any byte" as a line end after a chunk size, after
// chunk data and after the last chunk: a smuggling vector, since another
// parser on the path would frame the body differently. The scanner tracks
// chunk sizes itself and insists on CRLF exactly; llhttp still does the
// decoding and the callbacks. The trailer section after the last chunk is
// left to HeadScanner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace larder::http {

class ChunkScanner {
 public:
  enum class Status { kNeedMore, kLastChunk, kError };
  struct Result {
    Status status;
    size_t consumed;  // kLastChunk: through the LF ending the last-chunk
                      // line; kError: offset of the offending byte.
  };

  void start();
  Result scan(std::string_view data);
  const char* errorReason() const { return error_reason_; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf };
  Result fail(const char* reason, size_t at) {
    error_reason_ = reason;
    return {Status::kError, at};
  }

  State state_ = State::kSize;
  uint64_t size_ = 0;
  int digits_ = 0;
  uint64_t remaining_ = 0;
  const char* error_reason_ = "";
};

}  // namespace larder::http
