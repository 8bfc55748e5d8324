// balance leastconn: the server with the fewest connections for its weight. Like HAProxy,
// the load counts the connection being placed ((active + 1) / weight), so that among idle
// servers the heavier one is preferred instead of the weights being ignored. Equal loads
// take turns: the scan starts after the previous pick.

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"

namespace sluice::worker::balance {
namespace {

class leastconn final : public candidate_balancer {
 public:
  leastconn(bool allbackups, uint32_t seed) : candidate_balancer(allbackups), start_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request&) override {
    const auto eligible = candidates().eligible();
    const size_t n = eligible.size();
    const size_t from = start_ % servers.size();
    size_t first = 0;
    while (first < n && eligible[first] < from) ++first;
    if (first == n) first = 0;

    size_t best = eligible[first];
    for (size_t k = 1; k < n; ++k) {
      const size_t i = eligible[(first + k) % n];
      if (lighter(servers[i], servers[best])) best = i;
    }
    start_ = best + 1;
    return best;
  }

 private:
  // (a.active + 1) / a.weight < (b.active + 1) / b.weight, without division.
  static bool lighter(const server_view& a, const server_view& b) {
    return (uint64_t{a.active} + 1) * b.weight < (uint64_t{b.active} + 1) * a.weight;
  }

  size_t start_;
};

}  // namespace

std::unique_ptr<balancer> make_leastconn(const sluice::config::Backend& backend, uint32_t seed) {
  return std::make_unique<leastconn>(backend.options().allbackups(), seed);
}

}  // namespace sluice::worker::balance
