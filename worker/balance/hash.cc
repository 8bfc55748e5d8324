// balance source | uri | url_param | hdr(): the request's key picks the server, so the same
// key keeps reaching the same server while the pool holds. Two mappings, as `hash-type`:
//
// - map-based (default): hash % total weight over the pool, each server taking as many
//   consecutive slots as its config weight. Static like HAProxy's: run-time weights count
//   only to or from 0. Any change to the pool moves most keys.
// - consistent: a ring with points_per_weight points per unit of weight for each server;
//   a key goes to the first point at or after its (avalanched) hash. A server joining or
//   leaving moves only the keys of its own arcs. Dynamic: weights are read at every pick.
//
// A key whose server is full or excluded goes to the next eligible server (the next slot
// group, or the next point on the ring); other keys stay put. A request without a key is
// balanced by weighted round robin. The seed only varies that fallback: every worker maps
// a key to the same server.

#include <algorithm>

#include "worker/balance/algorithms.h"
#include "worker/balance/candidates.h"
#include "worker/balance/hash_function.h"
#include "worker/balance/roundrobin.h"

namespace sluice::worker::balance {
namespace {

// HAProxy's granularity (BE_WEIGHT_SCALE); weights above 256, which the config refuses,
// are counted as 256 so that the ring stays bounded.
constexpr uint32_t points_per_weight = 16;
constexpr uint32_t max_ring_weight = 256;

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

class map_hash final : public candidate_balancer {
 public:
  map_hash(bool allbackups, hash_spec spec, std::vector<uint32_t> weights, uint32_t seed)
      : candidate_balancer(allbackups), spec_(spec), weights_(std::move(weights)), rr_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request& req) override {
    const auto& c = candidates();
    auto weight_of = [&](size_t i) { return static_weight(weights_, servers[i], i); };
    if (!req.key) return rr_.next(c.eligible(), servers.size(), weight_of);

    const auto pool = c.pool();
    uint64_t total = 0;
    for (size_t i : pool) total += weight_of(i);
    uint64_t slot = hash_key(spec_, *req.key) % total;
    size_t at = 0;
    for (; at + 1 < pool.size(); ++at) {
      const uint32_t w = weight_of(pool[at]);
      if (slot < w) break;
      slot -= w;
    }
    for (size_t k = 0; k < pool.size(); ++k) {
      const size_t i = pool[(at + k) % pool.size()];
      if (c.is_eligible(i)) return i;
    }
    return c.eligible().front();
  }

 private:
  hash_spec spec_;
  std::vector<uint32_t> weights_;
  smooth_rr rr_;
};

class consistent_hash final : public candidate_balancer {
 public:
  consistent_hash(bool allbackups, hash_spec spec, std::vector<uint64_t> ids, uint32_t seed)
      : candidate_balancer(allbackups), spec_(spec), ids_(std::move(ids)), rr_(seed) {}

 protected:
  size_t choose(std::span<const server_view> servers, const pick_request& req) override {
    const auto& c = candidates();
    if (!req.key) {
      return rr_.next(c.eligible(), servers.size(), [&](size_t i) { return servers[i].weight; });
    }
    sync_ring(servers);
    const uint32_t h = hash_key(spec_, *req.key);
    auto it = std::lower_bound(ring_.begin(), ring_.end(), h,
                               [](const point& p, uint32_t v) { return p.at < v; });
    const size_t at = it == ring_.end() ? 0 : static_cast<size_t>(it - ring_.begin());
    for (size_t k = 0; k < ring_.size(); ++k) {
      const size_t i = ring_[(at + k) % ring_.size()].server;
      if (c.is_eligible(i)) return i;
    }
    return c.eligible().front();
  }

 private:
  struct point {
    uint32_t at;
    uint32_t server;
  };

  // Rebuilds the ring only when the pool or a weight in it changed, which the comparison
  // of one small vector per pick detects.
  void sync_ring(std::span<const server_view> servers) {
    while (ids_.size() < servers.size()) ids_.push_back(mix64(ids_.size() + 1));
    wanted_.assign(servers.size(), 0);
    for (size_t i : candidates().pool()) {
      wanted_[i] = std::min(servers[i].weight, max_ring_weight);
    }
    if (wanted_ == built_) return;
    built_.swap(wanted_);

    ring_.clear();
    for (size_t i = 0; i < built_.size(); ++i) {
      const uint32_t n = built_[i] * points_per_weight;
      for (uint32_t r = 0; r < n; ++r) {
        // The point depends on the server's name and its rank only, so a server keeps its
        // points whatever else joins, leaves or changes weight.
        const uint64_t p = mix64(ids_[i] + (uint64_t{r} + 1) * 0x9e3779b97f4a7c15ULL);
        ring_.push_back({static_cast<uint32_t>(p >> 32), static_cast<uint32_t>(i)});
      }
    }
    std::sort(ring_.begin(), ring_.end(), [](const point& a, const point& b) {
      return a.at != b.at ? a.at < b.at : a.server < b.server;
    });
  }

  hash_spec spec_;
  std::vector<uint64_t> ids_;
  smooth_rr rr_;
  std::vector<uint32_t> wanted_;
  std::vector<uint32_t> built_;
  std::vector<point> ring_;
};

}  // namespace

std::unique_ptr<balancer> make_hash(const sluice::config::Backend& backend, uint32_t seed) {
  const bool allbackups = backend.options().allbackups();
  hash_spec spec = parse_hash_spec(backend.hash_function());
  if (!backend.hash_consistent()) {
    return std::make_unique<map_hash>(allbackups, spec, config_weights(backend), seed);
  }
  // Always avalanched on the ring. The points are Sluice's own, so keeping HAProxy's raw
  // hash value gains nothing, while sdbm and djb2 hash similar keys (client-1, client-2,
  // ...) to nearby values that crowd a few arcs: measured on 10,000 such keys over five
  // servers, plain sdbm gave one server 36% and another 1%, djb2 gave one 90%.
  spec.avalanche = true;
  // A server is identified on the ring by its name, so that inserting or removing a
  // server elsewhere in the config does not move its points.
  std::vector<uint64_t> ids;
  ids.reserve(static_cast<size_t>(backend.servers_size()));
  for (const auto& s : backend.servers()) {
    ids.push_back(s.name().empty() ? mix64(ids.size() + 1) : fnv1a64(s.name()));
  }
  return std::make_unique<consistent_hash>(allbackups, spec, std::move(ids), seed);
}

}  // namespace sluice::worker::balance
