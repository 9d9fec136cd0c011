// Violated invariants (STYLE E1). LARDER_ASSERT aborts in debug builds only.
// LARDER_BUG aborts in debug builds and logs in release builds.
#pragma once

#include <cstdlib>

#include "base/log.h"

#ifndef NDEBUG
#define LARDER_ASSERT(cond)                                                       \
  do {                                                                            \
    if (!(cond)) {                                                                \
      LOG_ERROR("assertion failed: {} at {}:{}", #cond, __FILE__, __LINE__);      \
      std::abort();                                                               \
    }                                                                             \
  } while (0)
#define LARDER_BUG(...)                                                           \
  do {                                                                            \
    LOG_ERROR("bug at {}:{}: {}", __FILE__, __LINE__, ::fmt::format(__VA_ARGS__)); \
    std::abort();                                                                 \
  } while (0)
#else
#define LARDER_ASSERT(cond) ((void)0)
#define LARDER_BUG(...) LOG_ERROR("bug at {}:{}: {}", __FILE__, __LINE__, ::fmt::format(__VA_ARGS__))
#endif

// fatal(): impossible environment failures (ENOMEM, uv_loop_init). Never returns.
#define LARDER_FATAL(...)                                                         \
  do {                                                                            \
    LOG_ERROR("fatal: {}", ::fmt::format(__VA_ARGS__));                           \
    std::abort();                                                                 \
  } while (0)
