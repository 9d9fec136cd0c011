// The Redis hit path's own work, without the sockets: formatting an MGET,
// and reading its reply (hiredis's objects against the arena, with and
// without borrowing the entry's bytes).
#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <string>
#include <vector>

#include "alloc_counter.h"
#include "store/redis/reply_arena.h"
#include "store/redis/resp.h"

namespace {

using namespace larder;

const std::vector<std::string_view> kMget = {
    "MGET", "v1:generation", "bench:ns:0123456789abcdef0123456789abcdef",
    "bench:e:0123456789abcdef0123456789abcdef"};

void BM_FormatMgetHiredis(benchmark::State& state) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (auto arg : kMget) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  for (auto _ : state) {
    char* formatted = nullptr;
    const int length = redisFormatCommandArgv(&formatted, static_cast<int>(argv.size()), argv.data(),
                                              lengths.data());
    benchmark::DoNotOptimize(length);
    redisFreeCommand(formatted);
  }
}
BENCHMARK(BM_FormatMgetHiredis);

void BM_FormatMgetResp(benchmark::State& state) {
  std::string scratch;
  for (auto _ : state) {
    scratch.clear();
    store::resp::appendCommand(scratch, kMget);
    benchmark::DoNotOptimize(scratch.data());
  }
}
BENCHMARK(BM_FormatMgetResp);

// An MGET hit's reply: the generation, one version, the entry.
std::string mgetReply(size_t entry_bytes) {
  const std::string entry(entry_bytes, 'e');
  const std::string version = "0123456789abcdef/1733500000000000.abcdef";
  return "*3\r\n$16\r\n0123456789abcdef\r\n$" + std::to_string(version.size()) + "\r\n" + version +
         "\r\n$" + std::to_string(entry.size()) + "\r\n" + entry + "\r\n";
}

void BM_ReplyLength(benchmark::State& state) {
  const std::string reply = mgetReply(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(store::resp::replyLength(reply));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_ReplyLength)->Arg(1400)->Arg(65 * 1024);

// mode 0: hiredis's objects; 1: the arena, copying; 2: the arena, borrowing.
void BM_ReadMgetReply(benchmark::State& state) {
  const std::string reply = mgetReply(static_cast<size_t>(state.range(0)));
  const int mode = static_cast<int>(state.range(1));
  store::ReplyArena arena;
  redisReader* reader = redisReaderCreate();
  reader->maxbuf = 0;
  if (mode > 0) arena.install(reader);
  arena.setBorrowing(mode == 2);
  const uint64_t allocations = bench::allocationCount();
  for (auto _ : state) {
    redisReaderFeed(reader, reply.data(), reply.size());
    void* parsed = nullptr;
    if (redisReaderGetReply(reader, &parsed) != REDIS_OK || parsed == nullptr) {
      state.SkipWithError("the reply did not parse");
      break;
    }
    benchmark::DoNotOptimize(parsed);
    reader->fn->freeObject(parsed);
  }
  bench::reportAllocations(state, allocations);
  redisReaderFree(reader);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * reply.size()));
}
BENCHMARK(BM_ReadMgetReply)
    ->ArgNames({"entry", "mode"})
    ->Args({1400, 0})
    ->Args({1400, 1})
    ->Args({1400, 2})
    ->Args({65 * 1024, 0})
    ->Args({65 * 1024, 1})
    ->Args({65 * 1024, 2});

}  // namespace
