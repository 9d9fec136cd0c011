// libFuzzer target for cache::DecodingStream (STYLE T6). Stored bodies come
// from a shared store and from upstreams, so any bytes must stream out
// cleanly or stop with kTooBig / kCorrupt: no crash, no over-read, never
// more than the limit in all, never a chunk over the chunk size, and a body
// that decodes must decode as decompress() reads it whole.
// Input: byte 0 picks the coding (bit 0), the chunk size and the piece
// size (bits 1..7); the rest is the coded body. Seeds: corpus/decoding_stream/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cache/compression.h"
#include "cache/decoding_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using larder::cache::DecodingStream;
  if (size < 1) return 0;
  const larder::cache::Coding coding = (data[0] & 1) ? larder::cache::Coding::kZstd : larder::cache::Coding::kGzip;
  const size_t chunk = 1 + ((data[0] >> 1) & 7) * 97;
  const size_t piece = 1 + (data[0] >> 4) * 61;
  const uint64_t limit = 64 * 1024;
  const std::string_view coded(reinterpret_cast<const char*>(data + 1), size - 1);

  DecodingStream stream(coding, limit, chunk);
  size_t at = 0;
  auto feedNext = [&] {
    const size_t n = std::min(piece, coded.size() - at);
    stream.feed(coded.substr(at, n), at + n == coded.size());
    at += n;
  };
  feedNext();
  std::string decoded, out;
  DecodingStream::Status status;
  while (true) {
    status = stream.next(out);
    if (status == DecodingStream::Status::kChunk) {
      if (out.empty() || out.size() > chunk) std::abort();
      decoded += out;
      if (decoded.size() > limit) std::abort();
      continue;
    }
    if (status == DecodingStream::Status::kNeedInput) {
      if (at >= coded.size()) std::abort();
      feedNext();
      continue;
    }
    break;
  }
  if (stream.total() != decoded.size()) std::abort();
  if (status == DecodingStream::Status::kDone) {
    const larder::cache::Decoded whole = larder::cache::decompress(coding, coded, limit);
    if (whole.error != larder::cache::DecodeError::kNone || whole.body != decoded) std::abort();
  }
  return 0;
}
