#pragma once
// How the data path feeds the shared counters: null blocks (nothing counted) are fine
// everywhere, so sessions call these without checking.

#include <chrono>
#include <cstdint>

#include "stats/counters.h"

namespace sluice::worker::count {

using field = std::atomic<uint64_t> stats::counter_block::*;
using timer = stats::block_histogram stats::counter_block::*;

inline void add(stats::counter_block* b, field f, uint64_t n = 1) {
  if (b != nullptr && n != 0) stats::add(b->*f, n);
}

inline void response(stats::counter_block* b, unsigned status) {
  if (b != nullptr) stats::add(b->http_responses[stats::response_class(status)]);
}

// A phase's duration in microseconds; negative = not reached, not observed.
inline void time(stats::counter_block* b, timer t, int64_t us) {
  if (b != nullptr && us >= 0) stats::histogram::observe(b->*t, std::chrono::microseconds(us));
}

inline int64_t micros_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace sluice::worker::count
