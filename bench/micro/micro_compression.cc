// Compression candidates for cache.compression (issue 13 item 4): Debian's
// zlib, libdeflate and libzstd on a 1 KiB and a 64 KiB API JSON body.
// Counters: ratio (raw / compressed); the time per iteration is one whole
// compression or decompression of the body (whole buffers: larder holds an
// entry's body whole when it stores or serves it).
#include <benchmark/benchmark.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "cache/decoding_stream.h"

namespace {

// A product listing as an API returns it: repeated keys, words from a small
// vocabulary, numbers, timestamps and hex ids (which compress poorly), cut
// to exactly `size` bytes of valid JSON. Deterministic.
std::string apiJson(size_t size) {
  static const char* const kWords[] = {"steel", "oak", "linen", "compact", "deluxe", "garden", "kitchen",
                                       "blue", "matte", "travel", "wireless", "organic", "classic", "pro",
                                       "mini", "outdoor", "set", "lamp", "chair", "mug", "shelf", "bag"};
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  auto word = [&] { return std::string(kWords[next() % (sizeof(kWords) / sizeof(kWords[0]))]); };
  std::string out = "{\"items\":[";
  for (int i = 0;; ++i) {
    char item[512];
    std::snprintf(item, sizeof(item),
                  "%s{\"id\":%d,\"sku\":\"%08llx%08llx\",\"name\":\"%s %s %s\",\"price\":%llu.%02llu,"
                  "\"currency\":\"EUR\",\"stock\":%llu,\"rating\":%llu.%llu,\"tags\":[\"%s\",\"%s\"],"
                  "\"updated_at\":\"2026-%02llu-%02lluT%02llu:%02llu:%02lluZ\",\"active\":%s}",
                  i ? "," : "", 100000 + i, static_cast<unsigned long long>(next() & 0xffffffff),
                  static_cast<unsigned long long>(next() & 0xffffffff), word().c_str(), word().c_str(),
                  word().c_str(), static_cast<unsigned long long>(next() % 500),
                  static_cast<unsigned long long>(next() % 100), static_cast<unsigned long long>(next() % 1000),
                  static_cast<unsigned long long>(next() % 5), static_cast<unsigned long long>(next() % 10),
                  word().c_str(), word().c_str(), static_cast<unsigned long long>(1 + next() % 12),
                  static_cast<unsigned long long>(1 + next() % 28), static_cast<unsigned long long>(next() % 24),
                  static_cast<unsigned long long>(next() % 60), static_cast<unsigned long long>(next() % 60),
                  next() % 2 ? "true" : "false");
    if (out.size() + std::string_view(item).size() + 2 > size) break;
    out += item;
  }
  out += "]}";
  out.append(size - out.size(), ' ');  // JSON whitespace to the exact size
  return out;
}

// Size 65535 stands for bench/run's "64 KiB" body: {"data":"xxx..."}, one
// byte repeated (65534 bytes), the decoders' worst case for speed.
const std::string& body(int64_t size) {
  static const std::string k1 = apiJson(1024);
  static const std::string k64 = apiJson(65536);
  static const std::string bench = "{\"data\":\"" + std::string(65536 - 14, 'x') + "\"}\n";
  return size == 1024 ? k1 : size == 65535 ? bench : k64;
}

std::string zlibGzip(const std::string& in, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void zlibGunzip(const std::string& in, std::string& out) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) std::abort();
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (inflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  inflateEnd(&z);
}

std::string deflateGzip(const std::string& in, int level) {
  libdeflate_compressor* c = libdeflate_alloc_compressor(level);
  std::string out(libdeflate_gzip_compress_bound(c, in.size()), '\0');
  out.resize(libdeflate_gzip_compress(c, in.data(), in.size(), out.data(), out.size()));
  libdeflate_free_compressor(c);
  return out;
}

std::string zstdCompress(const std::string& in, int level) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), level);
  if (ZSTD_isError(n)) std::abort();
  out.resize(n);
  return out;
}

void setRatio(benchmark::State& state, size_t raw, size_t compressed) {
  state.counters["ratio"] = static_cast<double>(raw) / static_cast<double>(compressed);
  state.counters["bytes"] = static_cast<double>(compressed);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw));
}

// Compressors are allocated per iteration, as larder does per stored entry
// (libdeflate's and zstd's contexts could be kept per worker; zlib's too).
void BM_CompressZlib(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize((out = zlibGzip(in, static_cast<int>(state.range(1)))).data());
  setRatio(state, in.size(), out.size());
}

void BM_CompressLibdeflate(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize((out = deflateGzip(in, static_cast<int>(state.range(1)))).data());
  setRatio(state, in.size(), out.size());
}

void BM_CompressZstd(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  std::string out;
  for (auto _ : state) benchmark::DoNotOptimize((out = zstdCompress(in, static_cast<int>(state.range(1)))).data());
  setRatio(state, in.size(), out.size());
}

void BM_DecompressZlib(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  const std::string packed = zlibGzip(in, static_cast<int>(state.range(1)));
  std::string out(in.size(), '\0');
  for (auto _ : state) {
    zlibGunzip(packed, out);
    benchmark::DoNotOptimize(out.data());
  }
  if (out != in) state.SkipWithError("round trip differs");
  setRatio(state, in.size(), packed.size());
}

void BM_DecompressLibdeflate(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  const std::string packed = deflateGzip(in, static_cast<int>(state.range(1)));
  std::string out(in.size(), '\0');
  libdeflate_decompressor* d = libdeflate_alloc_decompressor();
  for (auto _ : state) {
    size_t n = 0;
    if (libdeflate_gzip_decompress(d, packed.data(), packed.size(), out.data(), out.size(), &n) !=
        LIBDEFLATE_SUCCESS)
      std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  libdeflate_free_decompressor(d);
  if (out != in) state.SkipWithError("round trip differs");
  setRatio(state, in.size(), packed.size());
}

void BM_DecompressZstd(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  const std::string packed = zstdCompress(in, static_cast<int>(state.range(1)));
  std::string out(in.size(), '\0');
  ZSTD_DCtx* d = ZSTD_createDCtx();
  for (auto _ : state) {
    size_t n = ZSTD_decompressDCtx(d, out.data(), out.size(), packed.data(), packed.size());
    if (ZSTD_isError(n)) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  ZSTD_freeDCtx(d);
  if (out != in) state.SkipWithError("round trip differs");
  setRatio(state, in.size(), packed.size());
}

// cache::DecodingStream (what a hit for a client that does not accept the
// stored coding would use), the whole body in 16 KiB chunks, against the
// whole-buffer decoders above. reuse 0: a stream built per body (zlib's
// inflate state or a zstd DCtx set up each time); 1: one stream reset().
void BM_DecodingStream(benchmark::State& state) {
  const std::string& in = body(state.range(0));
  const bool zstd = state.range(1) != 0;
  const std::string packed = zstd ? zstdCompress(in, 3) : deflateGzip(in, 6);
  const bool reuse = state.range(2) != 0;
  const larder::cache::Coding coding = zstd ? larder::cache::Coding::kZstd : larder::cache::Coding::kGzip;
  std::string chunk, out;
  larder::cache::DecodingStream kept(coding, in.size(), 16 * 1024);
  for (auto _ : state) {
    std::optional<larder::cache::DecodingStream> fresh;
    if (reuse) {
      kept.reset(coding, in.size());
    } else {
      fresh.emplace(coding, in.size(), 16 * 1024);
    }
    larder::cache::DecodingStream& stream = reuse ? kept : *fresh;
    stream.feed(packed, true);
    out.clear();
    larder::cache::DecodingStream::Status status;
    while ((status = stream.next(chunk)) == larder::cache::DecodingStream::Status::kChunk) out += chunk;
    if (status != larder::cache::DecodingStream::Status::kDone) std::abort();
    benchmark::DoNotOptimize(out.data());
  }
  if (out != in) state.SkipWithError("round trip differs");
  setRatio(state, in.size(), packed.size());
}

// {body bytes, level}: gzip levels 1, 4 and 6 (zlib's default), zstd 1 and 3 (its default);
// 65535: bench/run's body (see body()).
void gzipArgs(benchmark::internal::Benchmark* b) {
  for (int64_t size : {1024, 65536})
    for (int64_t level : {1, 4, 6}) b->Args({size, level});
  b->Args({65535, 6});
}
void zstdArgs(benchmark::internal::Benchmark* b) {
  for (int64_t size : {1024, 65536})
    for (int64_t level : {1, 3}) b->Args({size, level});
  b->Args({65535, 3});
}

BENCHMARK(BM_CompressZlib)->Apply(gzipArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CompressLibdeflate)->Apply(gzipArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_CompressZstd)->Apply(zstdArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecompressZlib)->Apply(gzipArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecompressLibdeflate)->Apply(gzipArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecompressZstd)->Apply(zstdArgs)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_DecodingStream)
    ->ArgNames({"body", "zstd", "reuse"})
    ->Args({1024, 0, 0})
    ->Args({1024, 0, 1})
    ->Args({65536, 0, 0})
    ->Args({65536, 0, 1})
    ->Args({1024, 1, 0})
    ->Args({1024, 1, 1})
    ->Args({65536, 1, 0})
    ->Args({65536, 1, 1})
    ->Unit(benchmark::kMicrosecond);

}  // namespace
