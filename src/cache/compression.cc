#include "cache/compression.h"

#include <libdeflate.h>
#include <zstd.h>

#include <memory>

namespace larder::cache {
namespace {

// One gzip member is at least a 10-byte header and an 8-byte trailer.
constexpr size_t kGzipMinSize = 18;

struct CompressorDeleter {
  void operator()(libdeflate_compressor* c) const { libdeflate_free_compressor(c); }
};
struct DecompressorDeleter {
  void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
};
struct ZstdCctxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct ZstdDctxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// Contexts are kept per thread (each worker codes on its own loop): a
// libdeflate compressor costs as much to allocate as to code a 1 KiB body.
libdeflate_compressor* gzipCompressor(int level) {
  thread_local std::unique_ptr<libdeflate_compressor, CompressorDeleter> compressor;
  thread_local int compressor_level = 0;
  if (!compressor || compressor_level != level) {
    compressor.reset(libdeflate_alloc_compressor(level));
    compressor_level = compressor ? level : 0;
  }
  return compressor.get();
}

libdeflate_decompressor* gzipDecompressor() {
  thread_local std::unique_ptr<libdeflate_decompressor, DecompressorDeleter> decompressor(
      libdeflate_alloc_decompressor());
  return decompressor.get();
}

std::optional<std::string> gzip(std::string_view body, int level) {
  libdeflate_compressor* c = gzipCompressor(level);
  if (c == nullptr) return std::nullopt;
  std::string out(libdeflate_gzip_compress_bound(c, body.size()), '\0');
  size_t n = libdeflate_gzip_compress(c, body.data(), body.size(), out.data(), out.size());
  if (n == 0) return std::nullopt;
  out.resize(n);
  return out;
}

std::optional<std::string> zstd(std::string_view body, int level) {
  thread_local std::unique_ptr<ZSTD_CCtx, ZstdCctxDeleter> cctx(ZSTD_createCCtx());
  if (!cctx) return std::nullopt;
  std::string out(ZSTD_compressBound(body.size()), '\0');
  size_t n = ZSTD_compressCCtx(cctx.get(), out.data(), out.size(), body.data(), body.size(), level);
  if (ZSTD_isError(n)) return std::nullopt;
  out.resize(n);
  return out;
}

// The trailer's ISIZE (RFC 1952 §2.3.1) says how long the member decodes:
// trusted only as a bound on the buffer, never as the truth. A member that
// claims more than `limit` is refused before any work; one that lies about
// its size runs out of room (libdeflate never writes past the buffer).
Decoded gunzip(std::string_view data, uint64_t limit) {
  // ID1 ID2 CM=8 (deflate), RFC 1952 §2.3.1: checked before ISIZE is read,
  // so that data in another format is corrupt, not "too big".
  if (data.size() < kGzipMinSize || data.substr(0, 3) != std::string_view("\x1f\x8b\x08", 3))
    return {DecodeError::kCorrupt, {}};
  const auto* tail = reinterpret_cast<const unsigned char*>(data.data() + data.size() - 4);
  const uint64_t isize = uint64_t{tail[0]} | uint64_t{tail[1]} << 8 | uint64_t{tail[2]} << 16 |
                         uint64_t{tail[3]} << 24;
  if (isize > limit) return {DecodeError::kTooBig, {}};
  Decoded out;
  out.body.resize(isize);
  size_t used = 0, produced = 0;
  libdeflate_result r = libdeflate_gzip_decompress_ex(gzipDecompressor(), data.data(), data.size(),
                                                      out.body.data(), out.body.size(), &used, &produced);
  if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
    // ISIZE is the size modulo 2^32, and can be forged: only the bound
    // counts. Within the limit, this is a lying or multi-member body.
    return {isize < limit ? DecodeError::kCorrupt : DecodeError::kTooBig, {}};
  }
  if (r != LIBDEFLATE_SUCCESS || used != data.size() || produced != isize) return {DecodeError::kCorrupt, {}};
  return out;
}

// Streaming, so a frame that does not declare its size (or lies) is still
// stopped at `limit`.
Decoded unzstd(std::string_view data, uint64_t limit) {
  thread_local std::unique_ptr<ZSTD_DCtx, ZstdDctxDeleter> dctx(ZSTD_createDCtx());
  if (!dctx) return {DecodeError::kCorrupt, {}};
  ZSTD_DCtx_reset(dctx.get(), ZSTD_reset_session_only);
  Decoded out;
  // The first frame's declared size: a hint for the buffer, and a refusal
  // before any work when it alone passes the limit.
  const unsigned long long declared = ZSTD_getFrameContentSize(data.data(), data.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return {DecodeError::kCorrupt, {}};
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > limit) return {DecodeError::kTooBig, {}};
  size_t capacity = declared != ZSTD_CONTENTSIZE_UNKNOWN && declared > 0
                        ? static_cast<size_t>(declared)
                        : static_cast<size_t>(std::min<uint64_t>(limit, 4 * data.size() + 64));
  out.body.resize(capacity);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  size_t produced = 0;
  size_t last = 1;
  while (true) {
    ZSTD_outBuffer o{out.body.data(), out.body.size(), produced};
    last = ZSTD_decompressStream(dctx.get(), &o, &in);
    produced = o.pos;
    if (ZSTD_isError(last)) return {DecodeError::kCorrupt, {}};
    if (in.pos == in.size && last == 0) break;
    if (o.pos < o.size) {
      if (in.pos == in.size) return {DecodeError::kCorrupt, {}};  // truncated frame
      continue;
    }
    // The buffer is full and the frame goes on.
    if (out.body.size() >= limit) {
      // One more byte would pass the limit: probe for it.
      char probe = 0;
      ZSTD_outBuffer p{&probe, 1, 0};
      size_t more = ZSTD_decompressStream(dctx.get(), &p, &in);
      if (ZSTD_isError(more)) return {DecodeError::kCorrupt, {}};
      if (p.pos > 0) return {DecodeError::kTooBig, {}};
      if (in.pos == in.size && more == 0) break;
      if (in.pos == in.size) return {DecodeError::kCorrupt, {}};
      continue;
    }
    out.body.resize(static_cast<size_t>(std::min<uint64_t>(limit, out.body.size() * 2 + 64)));
  }
  out.body.resize(produced);
  return out;
}

// "q=0", "q=0.0", "q=0.000" (RFC 9110 §12.4.2) is zero; a weight that is
// not a qvalue counts as zero too.
bool hasWeight(std::string_view params) {
  while (!params.empty()) {
    size_t semicolon = params.find(';');
    std::string_view param = http::trimOws(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? std::string_view() : params.substr(semicolon + 1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos || !http::equalsIgnoreCase(http::trimOws(param.substr(0, eq)), "q"))
      continue;
    std::string_view q = http::trimOws(param.substr(eq + 1));
    if (q.empty() || (q[0] != '0' && q[0] != '1')) return false;
    if (q.size() > 1 && (q[1] != '.' || q.size() > 5)) return false;
    bool nonzero = q[0] == '1';
    for (char c : q.substr(std::min<size_t>(2, q.size()))) {
      if (c < '0' || c > '9') return false;
      if (q[0] == '1' && c != '0') return false;  // 1.000 at most
      nonzero = nonzero || c != '0';
    }
    return nonzero;
  }
  return true;  // no weight: q=1
}

}  // namespace

Coding parseCoding(std::string_view content_encoding) {
  std::string_view value = http::trimOws(content_encoding);
  if (value.empty() || http::equalsIgnoreCase(value, "identity")) return Coding::kIdentity;
  if (http::equalsIgnoreCase(value, "gzip") || http::equalsIgnoreCase(value, "x-gzip")) return Coding::kGzip;
  if (http::equalsIgnoreCase(value, "zstd")) return Coding::kZstd;
  return Coding::kOther;
}

std::string_view codingName(Coding coding) {
  switch (coding) {
    case Coding::kGzip: return "gzip";
    case Coding::kZstd: return "zstd";
    default: return "";
  }
}

std::string_view toString(DecodeError error) {
  switch (error) {
    case DecodeError::kNone: return "none";
    case DecodeError::kTooBig: return "too_big";
    case DecodeError::kCorrupt: return "corrupt";
  }
  return "corrupt";
}

std::optional<std::string> compress(Coding coding, std::string_view body, int level) {
  if (coding == Coding::kGzip) return gzip(body, level);
  if (coding == Coding::kZstd) return zstd(body, level);
  return std::nullopt;
}

Decoded decompress(Coding coding, std::string_view data, uint64_t limit) {
  if (coding == Coding::kGzip) return gunzip(data, limit);
  if (coding == Coding::kZstd) return unzstd(data, limit);
  return {DecodeError::kCorrupt, {}};
}

bool isCompressibleType(std::string_view content_type, const std::vector<std::string>& types) {
  std::string type = http::asciiLower(http::trimOws(content_type.substr(0, content_type.find(';'))));
  const size_t slash = type.find('/');
  if (slash == std::string::npos || slash == 0) return false;
  for (const std::string& listed : types) {
    if (listed == type) return true;
    if (listed.size() == slash + 2 && listed.compare(slash, 2, "/*") == 0 && listed.compare(0, slash, type, 0, slash) == 0)
      return true;
  }
  return false;
}

bool acceptsCoding(const http::HeaderMap& request_headers, std::string_view coding) {
  std::vector<std::string_view> fields = request_headers.findAll("Accept-Encoding");
  if (fields.empty() || coding.empty()) return false;
  std::optional<bool> named, star;
  for (std::string_view field : fields) {
    while (!field.empty()) {
      size_t comma = field.find(',');
      std::string_view member = http::trimOws(field.substr(0, comma));
      field = comma == std::string_view::npos ? std::string_view() : field.substr(comma + 1);
      if (member.empty()) continue;
      size_t semicolon = member.find(';');
      std::string_view name = http::trimOws(member.substr(0, semicolon));
      const bool weighted = hasWeight(semicolon == std::string_view::npos ? "" : member.substr(semicolon + 1));
      if (http::equalsIgnoreCase(name, coding) ||
          (coding == "gzip" && http::equalsIgnoreCase(name, "x-gzip"))) {
        named = named.value_or(false) || weighted;
      } else if (name == "*") {
        star = star.value_or(false) || weighted;
      }
    }
  }
  if (named) return *named;
  return star.value_or(false);
}

}  // namespace larder::cache
