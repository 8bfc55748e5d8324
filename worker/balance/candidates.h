#pragma once
// The rules every algorithm shares (see balancer.h): usable with weight > 0, the backup
// rule, maxconn and exclude. The algorithms only order the servers these rules leave.

#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include "worker/balance/balancer.h"

namespace sluice::worker::balance {

enum class gather_status { none, full, ok };

// Owns its vectors so that, once they have grown to the backend's size, a pick does not
// allocate.
class candidate_set {
 public:
  explicit candidate_set(bool allbackups) : allbackups_(allbackups) {}

  gather_status gather(std::span<const server_view> servers, std::optional<size_t> exclude);

  // The servers traffic may go to at all (active ones, else the backup rule), before
  // maxconn and exclude: hashing maps keys over this set, so that a busy server shifts its
  // own keys only instead of reshuffling all of them.
  std::span<const size_t> pool() const { return pool_; }
  // The servers that may take this request, in config order; never empty after `ok`.
  std::span<const size_t> eligible() const { return eligible_; }
  bool is_eligible(size_t server) const { return flags_[server] != 0; }

 private:
  bool allbackups_;
  std::vector<size_t> pool_;
  std::vector<size_t> eligible_;
  std::vector<unsigned char> flags_;
};

// Applies the shared rules, then lets the algorithm choose among the eligible servers.
class candidate_balancer : public balancer {
 public:
  explicit candidate_balancer(bool allbackups) : candidates_(allbackups) {}

  pick_result pick(std::span<const server_view> servers, const pick_request& req) final;

 protected:
  // Called with at least one eligible server; returns one of them.
  virtual size_t choose(std::span<const server_view> servers, const pick_request& req) = 0;
  const candidate_set& candidates() const { return candidates_; }

 private:
  candidate_set candidates_;
};

}  // namespace sluice::worker::balance
