#include "cache/decoding_stream.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>

namespace larder::cache {

// gzip is zlib's inflate here, not libdeflate's (as decompress() uses):
// libdeflate decodes whole buffers only.
struct DecodingStream::Engine {
  Coding coding = Coding::kOther;
  z_stream zlib{};
  bool zlib_ready = false;
  ZSTD_DCtx* zstd = nullptr;

  explicit Engine(Coding c) : coding(c) {
    if (coding == Coding::kGzip) {
      // 16 + 15: a gzip wrapper only (RFC 1952), the largest window.
      zlib_ready = inflateInit2(&zlib, 16 + MAX_WBITS) == Z_OK;
    } else if (coding == Coding::kZstd) {
      zstd = ZSTD_createDCtx();
    }
  }
  ~Engine() {
    if (zlib_ready) inflateEnd(&zlib);
    if (zstd != nullptr) ZSTD_freeDCtx(zstd);
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  bool isReady() const { return zlib_ready || zstd != nullptr; }

  // Ready for a new body; false if the library refuses.
  bool restart() {
    if (zlib_ready) return inflateReset(&zlib) == Z_OK;
    if (zstd != nullptr) return !ZSTD_isError(ZSTD_DCtx_reset(zstd, ZSTD_reset_session_only));
    return false;
  }

  // One decoding step: takes what it uses from the front of `input`, writes
  // up to `room` bytes to `out`. false on malformed input; `ended` when the
  // gzip member or a zstd frame is complete and flushed.
  bool step(std::string_view& input, char* out, size_t room, size_t& produced, bool& ended) {
    ended = false;
    if (coding == Coding::kGzip) {
      const size_t offered = std::min<size_t>(input.size(), UINT_MAX);
      zlib.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
      zlib.avail_in = static_cast<uInt>(offered);
      zlib.next_out = reinterpret_cast<Bytef*>(out);
      zlib.avail_out = static_cast<uInt>(std::min<size_t>(room, UINT_MAX));
      const uInt avail_out = zlib.avail_out;
      const int r = inflate(&zlib, Z_NO_FLUSH);
      input.remove_prefix(offered - zlib.avail_in);
      produced = avail_out - zlib.avail_out;
      if (r == Z_STREAM_END) {
        ended = true;
        return true;
      }
      // Z_BUF_ERROR: no progress possible now (it needs input), not an error.
      return r == Z_OK || r == Z_BUF_ERROR;
    }
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    ZSTD_outBuffer o{out, room, 0};
    const size_t r = ZSTD_decompressStream(zstd, &o, &in);
    input.remove_prefix(in.pos);
    produced = o.pos;
    if (ZSTD_isError(r)) return false;
    ended = r == 0;
    return true;
  }
};

DecodingStream::DecodingStream(Coding coding, uint64_t limit, size_t chunk_size)
    : coding_(coding), limit_(limit), chunk_size_(std::max<size_t>(chunk_size, 1)),
      engine_(std::make_unique<Engine>(coding)) {}

DecodingStream::~DecodingStream() = default;

void DecodingStream::reset(Coding coding, uint64_t limit) {
  if (coding != coding_ || !engine_->restart()) engine_ = std::make_unique<Engine>(coding);
  coding_ = coding;
  limit_ = limit;
  input_ = {};
  last_ = false;
  ended_ = false;
  total_ = 0;
  final_ = Status::kChunk;
}

void DecodingStream::feed(std::string_view input, bool last) {
  input_ = input;
  last_ = last;
}

DecodingStream::Status DecodingStream::settle(Status status) {
  final_ = status;
  input_ = {};
  return status;
}

DecodingStream::Status DecodingStream::next(std::string& out) {
  out.clear();
  if (final_ != Status::kChunk) return final_;
  if (!engine_->isReady()) return settle(Status::kCorrupt);
  while (true) {
    if (ended_) {
      // Nothing follows one gzip member (as decompress() rules); a zstd
      // body may hold further frames.
      if (input_.empty()) {
        if (last_) return settle(Status::kDone);
        return Status::kNeedInput;
      }
      if (coding_ == Coding::kGzip) return settle(Status::kCorrupt);
      ended_ = false;
    }
    if (input_.empty() && last_) return settle(Status::kCorrupt);  // truncated: the body has not ended
    if (input_.empty()) return Status::kNeedInput;
    // At the limit, room for one byte more: any output is a refusal.
    const uint64_t room_left = limit_ - total_;
    const bool probing = room_left == 0;
    const size_t room = probing ? 1 : static_cast<size_t>(std::min<uint64_t>(chunk_size_, room_left));
    out.resize(room);
    const size_t before = input_.size();
    size_t produced = 0;
    bool ended = false;
    if (!engine_->step(input_, out.data(), room, produced, ended)) {
      out.clear();
      return settle(Status::kCorrupt);
    }
    out.resize(produced);
    if (probing && produced > 0) {
      out.clear();
      return settle(Status::kTooBig);
    }
    total_ += produced;
    ended_ = ended;
    if (produced > 0) return Status::kChunk;
    // No output: a header, a checksum, or input that cannot progress.
    if (!ended && input_.size() == before) return settle(Status::kCorrupt);
  }
}

std::string_view toString(DecodingStream::Status status) {
  switch (status) {
    case DecodingStream::Status::kChunk: return "chunk";
    case DecodingStream::Status::kNeedInput: return "need_input";
    case DecodingStream::Status::kDone: return "done";
    case DecodingStream::Status::kTooBig: return "too_big";
    case DecodingStream::Status::kCorrupt: return "corrupt";
  }
  return "?";
}

}  // namespace larder::cache
