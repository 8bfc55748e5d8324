// balance roundrobin: weighted round robin with weights read at every pick (dynamic, as in
// HAProxy: slow start and `set weight` take effect at once).

#include "worker/balance/roundrobin.h"

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"

namespace sluice::worker::balance {
namespace {

class roundrobin final : public candidate_balancer {
 public:
  roundrobin(bool allbackups, uint32_t seed) : candidate_balancer(allbackups), rr_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request&) override {
    return rr_.next(candidates().eligible(), servers.size(),
                    [&](size_t i) { return servers[i].weight; });
  }

 private:
  smooth_rr rr_;
};

}  // namespace

std::unique_ptr<balancer> make_roundrobin(const sluice::config::Backend& backend, uint32_t seed) {
  return std::make_unique<roundrobin>(backend.options().allbackups(), seed);
}

}  // namespace sluice::worker::balance
