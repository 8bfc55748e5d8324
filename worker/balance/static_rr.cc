// balance static-rr: the same weighted round robin as roundrobin, but with the weights of
// the config. As in HAProxy, a run-time weight change only matters to or from 0 (the
// server stops or resumes taking traffic); health and admin state apply as usual.

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"
#include "worker/balance/roundrobin.h"

namespace sluice::worker::balance {
namespace {

class static_rr final : public candidate_balancer {
 public:
  static_rr(bool allbackups, std::vector<uint32_t> weights, uint32_t seed)
      : candidate_balancer(allbackups), weights_(std::move(weights)), rr_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request&) override {
    return rr_.next(candidates().eligible(), servers.size(),
                    [&](size_t i) { return static_weight(weights_, servers[i], i); });
  }

 private:
  std::vector<uint32_t> weights_;
  smooth_rr rr_;
};

}  // namespace

std::unique_ptr<balancer> make_static_rr(const sluice::config::Backend& backend, uint32_t seed) {
  return std::make_unique<static_rr>(backend.options().allbackups(), config_weights(backend), seed);
}

}  // namespace sluice::worker::balance
