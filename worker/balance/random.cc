// balance random(N): N weighted random draws among the eligible servers, keeping the least
// loaded (active / weight): "power of N choices". N = 1 is plain weighted random. The
// generator is per balancer and seeded, so workers draw differently and tests reproduce.

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"

namespace sluice::worker::balance {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// xorshift64*: small state, good enough spread for picking among a few hundred servers.
class xorshift64s {
 public:
  explicit xorshift64s(uint32_t seed) {
    uint64_t s = seed;
    state_ = splitmix64(s);
    if (state_ == 0) state_ = 1;
  }
  uint64_t operator()() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545f4914f6cdd1dULL;
  }

 private:
  uint64_t state_;
};

class random_draws final : public candidate_balancer {
 public:
  random_draws(bool allbackups, uint32_t draws, uint32_t seed)
      : candidate_balancer(allbackups), draws_(draws == 0 ? 2 : draws), rng_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request&) override {
    const auto eligible = candidates().eligible();
    uint64_t total = 0;
    for (size_t i : eligible) total += servers[i].weight;

    size_t best = draw(servers, eligible, total);
    for (uint32_t d = 1; d < draws_; ++d) {
      const size_t i = draw(servers, eligible, total);
      if (lighter(servers[i], servers[best])) best = i;
    }
    return best;
  }

 private:
  size_t draw(std::span<const server_view> servers, std::span<const size_t> eligible,
              uint64_t total) {
    // The modulo bias is below 2^-40 for any realistic total weight.
    uint64_t r = rng_() % total;
    for (size_t i : eligible) {
      if (r < servers[i].weight) return i;
      r -= servers[i].weight;
    }
    return eligible.back();
  }

  // a.active / a.weight < b.active / b.weight, without division.
  static bool lighter(const server_view& a, const server_view& b) {
    return uint64_t{a.active} * b.weight < uint64_t{b.active} * a.weight;
  }

  uint32_t draws_;
  xorshift64s rng_;
};

}  // namespace

std::unique_ptr<balancer> make_random(const sluice::config::Backend& backend, uint32_t seed) {
  return std::make_unique<random_draws>(backend.options().allbackups(), backend.random_draws(),
                                        seed);
}

}  // namespace sluice::worker::balance
