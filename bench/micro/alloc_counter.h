// Counts heap allocations made by this process (alloc_counter.cc replaces
// the global operator new), so that a benchmark can report allocations per
// call next to its time (issue 13: allocations per hit).
#pragma once

#include <benchmark/benchmark.h>

#include <cstdint>

namespace larder::bench {

uint64_t allocationCount();

// Sets state.counters["allocs"] to the allocations per iteration since `start`.
inline void reportAllocations(benchmark::State& state, uint64_t start) {
  state.counters["allocs"] = benchmark::Counter(static_cast<double>(allocationCount() - start) /
                                                static_cast<double>(state.iterations()));
}

}  // namespace larder::bench
