#include "worker/balance/balancer.h"

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"

namespace sluice::worker::balance {
namespace {

bool takes_traffic(const server_view& s) {
  return s.usable && s.weight > 0;
}
bool is_full(const server_view& s) {
  return s.maxconn > 0 && s.active >= s.maxconn;
}

}  // namespace

gather_status candidate_set::gather(std::span<const server_view> servers,
                                    std::optional<size_t> exclude) {
  pool_.reserve(servers.size());
  eligible_.reserve(servers.size());
  pool_.clear();
  eligible_.clear();
  flags_.assign(servers.size(), 0);

  for (size_t i = 0; i < servers.size(); ++i) {
    if (takes_traffic(servers[i]) && !servers[i].backup) pool_.push_back(i);
  }
  if (pool_.empty()) {
    for (size_t i = 0; i < servers.size(); ++i) {
      if (!takes_traffic(servers[i]) || !servers[i].backup) continue;
      pool_.push_back(i);
      if (!allbackups_) break;
    }
  }
  if (pool_.empty()) return gather_status::none;

  // A free excluded server is still better than queueing behind full ones.
  std::optional<size_t> excluded_but_free;
  for (size_t i : pool_) {
    if (is_full(servers[i])) continue;
    if (exclude && *exclude == i) {
      excluded_but_free = i;
      continue;
    }
    eligible_.push_back(i);
  }
  if (eligible_.empty()) {
    if (!excluded_but_free) return gather_status::full;
    eligible_.push_back(*excluded_but_free);
  }
  for (size_t i : eligible_) flags_[i] = 1;
  return gather_status::ok;
}

pick_result candidate_balancer::pick(std::span<const server_view> servers,
                                     const pick_request& req) {
  switch (candidates_.gather(servers, req.exclude)) {
    case gather_status::none: return {};
    case gather_status::full: return {std::nullopt, true};
    case gather_status::ok: break;
  }
  return {choose(servers, req), false};
}

std::vector<uint32_t> config_weights(const sluice::config::Backend& backend) {
  std::vector<uint32_t> out;
  out.reserve(static_cast<size_t>(backend.servers_size()));
  for (const auto& s : backend.servers()) out.push_back(s.weight());
  return out;
}

std::unique_ptr<balancer> make_balancer(const sluice::config::Backend& backend, uint32_t seed) {
  switch (backend.balance()) {
    case sluice::config::BALANCE_STATIC_RR: return make_static_rr(backend, seed);
    case sluice::config::BALANCE_LEASTCONN: return make_leastconn(backend, seed);
    case sluice::config::BALANCE_FIRST: return make_first(backend);
    case sluice::config::BALANCE_SOURCE:
    case sluice::config::BALANCE_URI:
    case sluice::config::BALANCE_URL_PARAM:
    case sluice::config::BALANCE_HDR: return make_hash(backend, seed);
    case sluice::config::BALANCE_RANDOM: return make_random(backend, seed);
    case sluice::config::BALANCE_ROUNDROBIN:
    default: return make_roundrobin(backend, seed);
  }
}

}  // namespace sluice::worker::balance
