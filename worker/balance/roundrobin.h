#pragma once
// Smooth weighted round robin, shared by roundrobin, static-rr and the hashing algorithms'
// fallback when a request has no key.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace sluice::worker::balance {

// nginx's smooth weighted round robin: each pick adds every eligible server's weight to
// its score, takes the highest score and charges it the total. While the weights hold, a
// server of weight w out of a total W gets exactly w of every W picks, spread out rather
// than in bursts; a weight change takes effect at the next pick.
class smooth_rr {
 public:
  // Ties go to the first server from `seed` (modulo the eligible count) on, so that
  // workers with different seeds do not all start on the same server.
  explicit smooth_rr(uint32_t seed) : seed_(seed) {}

  // `eligible` is non-empty and in config order; `weight_of(i)` is server i's weight now.
  template <class WeightOf>
  size_t next(std::span<const size_t> eligible, size_t server_count, WeightOf&& weight_of) {
    if (score_.size() < server_count) score_.resize(server_count, 0);
    int64_t total = 0;
    for (size_t i : eligible) {
      const auto w = static_cast<int64_t>(weight_of(i));
      score_[i] += w;
      total += w;
    }
    const size_t n = eligible.size();
    const size_t start = seed_ % n;
    size_t best = eligible[start];
    for (size_t k = 1; k < n; ++k) {
      const size_t i = eligible[(start + k) % n];
      if (score_[i] > score_[best]) best = i;
    }
    score_[best] -= total;
    return best;
  }

 private:
  uint32_t seed_;
  // Indexed by server; a server that leaves the eligible set keeps its score, so its
  // share resumes where it stopped when it comes back.
  std::vector<int64_t> score_;
};

}  // namespace sluice::worker::balance
