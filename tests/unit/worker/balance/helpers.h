#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "proto/config.pb.h"
#include "worker/balance/balancer.h"

namespace sluice::worker::balance::testing {

// A backend with one server per weight, named s0, s1, ... in config order.
inline config::Backend make_backend(config::Balance algo, const std::vector<uint32_t>& weights) {
  config::Backend b;
  b.set_name("be");
  b.set_balance(algo);
  for (size_t i = 0; i < weights.size(); ++i) {
    auto* s = b.add_servers();
    s->set_name("s" + std::to_string(i));
    s->set_weight(weights[i]);
  }
  return b;
}

// The views for the config as written: everything up, nothing in flight.
inline std::vector<server_view> views_of(const config::Backend& b) {
  std::vector<server_view> v;
  for (const auto& s : b.servers()) {
    server_view sv;
    sv.weight = s.weight();
    sv.backup = s.backup();
    sv.maxconn = s.maxconn();
    v.push_back(sv);
  }
  return v;
}

inline size_t must_pick(balancer& lb, const std::vector<server_view>& servers,
                        const pick_request& req = {}) {
  const pick_result r = lb.pick(servers, req);
  if (!r.server) throw std::runtime_error("no server picked");
  return *r.server;
}

// How many of `picks` picks each server got.
inline std::vector<int> count_picks(balancer& lb, const std::vector<server_view>& servers,
                                    int picks, const pick_request& req = {}) {
  std::vector<int> counts(servers.size(), 0);
  for (int i = 0; i < picks; ++i) ++counts[must_pick(lb, servers, req)];
  return counts;
}

inline std::string key_of(int i) {
  return "client-" + std::to_string(i);
}

}  // namespace sluice::worker::balance::testing
