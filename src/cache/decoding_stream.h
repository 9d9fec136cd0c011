// DecodingStream: a stored body in gzip or zstd, decoded a bounded chunk at
// a time (issue 13 item 4: clients that do not accept the stored coding get
// the body "decompressed, streamed"). decompress() (cache/compression.h)
// decodes a body whole, which holds the identity form of a large entry in
// memory at once; this holds at most one chunk, and the caller asks for the
// next chunk only when it can send it, which is its backpressure.
//
// Bounded: it never produces more than `limit` decoded bytes in all (the
// serving path passes cache.max_object_size, or the entry's
// decoded_length). A compression bomb is refused with kTooBig once the
// limit is reached, after at most `limit` bytes of work, never expanded
// (DESIGN invariant 8).
//
// Accepts what decompress() accepts: kGzip, exactly one gzip member (RFC
// 1952); kZstd, one or more frames (RFC 8878). Bytes after the gzip member,
// a truncated body, or bytes in another format are kCorrupt.
//
// How the proxy serves an entry through it (not wired yet, issue 13):
//
//   DecodingStream stream(storedCoding(entry), *entry.decoded_length, 16 * 1024);
//   // (or a worker's kept stream: stream.reset(storedCoding(entry), *entry.decoded_length))
//   stream.feed(entry.body, /*last=*/true);   // entry.body stays alive and unchanged
//   // on each writable / drained event of the client socket:
//   std::string chunk;
//   switch (stream.next(chunk)) {
//     case DecodingStream::Status::kChunk: write(std::move(chunk)); break;  // ask again when drained
//     case DecodingStream::Status::kDone:  finish the response; break;
//     default: kTooBig / kCorrupt: abort the response (the head is already
//              sent: close the connection, count "decode_error") ; break;
//   }
//
// A stored entry has its decoded_length, so the head can carry Content-
// Length before the first chunk; kDone then also means that many bytes came
// out when the limit is decoded_length (check total() == decoded_length for
// the exact length: a shorter body is corrupt, as toIdentityForm says).
//
// Input may also arrive in pieces (an upstream answer): feed(piece, false)
// and call next() until kNeedInput, then feed the next piece. Each piece is
// borrowed, not copied: it must stay valid until next() has returned
// kNeedInput, kDone or an error.
//
// Threading: one stream belongs to one thread; it allocates the
// decompressor's state (zlib's inflate window, or a zstd DCtx) in the
// constructor (and in reset() to another coding), and frees it in the
// destructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "cache/compression.h"

namespace larder::cache {

class DecodingStream {
 public:
  enum class Status {
    kChunk,      // `out` holds 1..chunk_size decoded bytes; call next() again
    kNeedInput,  // every fed byte is used and the body goes on: feed() more
    kDone,       // the body ended exactly where the last input did
    kTooBig,     // it decodes to more than `limit` bytes: refused
    kCorrupt,    // malformed, truncated, trailing bytes, or another coding
  };

  // `coding`: kGzip or kZstd (anything else is kCorrupt at the first next()).
  // `chunk_size` >= 1 (0 counts as 1).
  DecodingStream(Coding coding, uint64_t limit, size_t chunk_size);
  ~DecodingStream();
  DecodingStream(const DecodingStream&) = delete;
  DecodingStream& operator=(const DecodingStream&) = delete;

  // Gives the next piece of coded input; `last` when no more follows.
  // Precondition: no input is pending (the stream is new, or next() has
  // returned kNeedInput) and `last` was not given before.
  void feed(std::string_view input, bool last);

  // Decodes the next chunk into `out` (its contents are replaced; its
  // capacity is reused). Once kDone, kTooBig or kCorrupt is returned, every
  // later call returns it again.
  Status next(std::string& out);

  // Starts over for another body, keeping the decompressor's state when
  // `coding` is the one it has (zlib's inflateReset, ZSTD_DCtx_reset):
  // setting that state up costs more than decoding a 1 KiB body, so a
  // worker serving many responses should keep one stream per coding and
  // reset it. Any input fed before is dropped.
  void reset(Coding coding, uint64_t limit);

  // Decoded bytes produced so far.
  uint64_t total() const { return total_; }

 private:
  struct Engine;
  Status settle(Status status);  // records a final status and returns it

  Coding coding_;
  uint64_t limit_;
  size_t chunk_size_;
  std::unique_ptr<Engine> engine_;
  std::string_view input_;
  bool last_ = false;
  bool ended_ = false;  // the coded body ended (gzip member / zstd frame complete)
  uint64_t total_ = 0;
  Status final_ = Status::kChunk;  // kChunk until a final status
};

std::string_view toString(DecodingStream::Status status);

}  // namespace larder::cache
