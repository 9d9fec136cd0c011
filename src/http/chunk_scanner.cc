#include "http/chunk_scanner.h"

#include <algorithm>

#include "base/hex.h"

namespace larder::http {

using base::hexValue;

void ChunkScanner::start() {
  state_ = State::kSize;
  size_ = 0;
  digits_ = 0;
  remaining_ = 0;
}

ChunkScanner::Result ChunkScanner::scan(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    const auto c = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case State::kSize: {
        const int v = hexValue(data[i]);
        if (v >= 0) {
          // Leading zeros are harmless; significant digits beyond 15 would
          // overflow what any limit can accept (llhttp agrees at 16).
          if (size_ > (UINT64_MAX >> 4)) return fail("chunk size overflow", i);
          size_ = (size_ << 4) | static_cast<uint64_t>(v);
          ++digits_;
        } else if (digits_ == 0) {
          return fail("invalid chunk size", i);
        } else if (c == ';') {
          state_ = State::kExtension;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail("invalid chunk size", i);
        }
        ++i;
        break;
      }
      case State::kExtension:
        // llhttp checks the extension grammar; here only line structure.
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          return fail("bare LF in chunk extension", i);
        }
        ++i;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("chunk size line not ended by CRLF", i);
        ++i;
        if (size_ == 0) {
          start();
          return {Status::kLastChunk, i};
        }
        remaining_ = size_;
        state_ = State::kData;
        break;
      case State::kData: {
        const uint64_t take = std::min<uint64_t>(remaining_, data.size() - i);
        remaining_ -= take;
        i += static_cast<size_t>(take);
        if (remaining_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
        if (c != '\r') return fail("chunk data not followed by CRLF", i);
        state_ = State::kDataLf;
        ++i;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("chunk data not followed by CRLF", i);
        size_ = 0;
        digits_ = 0;
        state_ = State::kSize;
        ++i;
        break;
    }
  }
  return {Status::kNeedMore, data.size()};
}

}  // namespace larder::http
