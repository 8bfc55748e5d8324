#pragma once
// One factory per algorithm, each defined in the file named for it; make_balancer()
// chooses among them.

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "proto/config.pb.h"
#include "worker/balance/balancer.h"

namespace sluice::worker::balance {

std::unique_ptr<balancer> make_roundrobin(const sluice::config::Backend& backend, uint32_t seed);
std::unique_ptr<balancer> make_static_rr(const sluice::config::Backend& backend, uint32_t seed);
std::unique_ptr<balancer> make_leastconn(const sluice::config::Backend& backend, uint32_t seed);
std::unique_ptr<balancer> make_first(const sluice::config::Backend& backend);
std::unique_ptr<balancer> make_hash(const sluice::config::Backend& backend, uint32_t seed);
std::unique_ptr<balancer> make_random(const sluice::config::Backend& backend, uint32_t seed);

// The weights written in the config, in server order: static algorithms (static-rr,
// map-based hashing) use them instead of the run-time weight.
std::vector<uint32_t> config_weights(const sluice::config::Backend& backend);

// A static algorithm's weight for server `i`: HAProxy lets a static algorithm see a weight
// change only to or from 0, so the run-time weight only says whether the server takes
// traffic. Servers the config does not describe keep their run-time weight.
inline uint32_t static_weight(std::span<const uint32_t> configured, const server_view& s,
                              size_t i) {
  if (s.weight == 0) return 0;
  return i < configured.size() && configured[i] > 0 ? configured[i] : s.weight;
}

}  // namespace sluice::worker::balance
