// balance first: fill servers in config order. The shared rules already skip servers at
// their maxconn, so the first eligible server is the first one with a free slot; without
// maxconn the first usable server takes everything, as in HAProxy.

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"

namespace sluice::worker::balance {
namespace {

class first final : public candidate_balancer {
 public:
  explicit first(bool allbackups) : candidate_balancer(allbackups) {}

 protected:
  size_t choose(std::span<const server_view>, const pick_request&) override {
    return candidates().eligible().front();
  }
};

}  // namespace

std::unique_ptr<balancer> make_first(const sluice::config::Backend& backend) {
  return std::make_unique<first>(backend.options().allbackups());
}

}  // namespace sluice::worker::balance
