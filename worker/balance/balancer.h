#pragma once
// Load-balancing algorithms (`balance ...` of a backend). Pure logic, no I/O: the caller
// describes the servers as they are right now and, for hashing algorithms, the key the
// request yields; the algorithm says which server gets it.
//
// Every algorithm honours the same contract as HAProxy:
// - only usable servers (up, ready, weight > 0) are candidates;
// - `backup` servers are candidates only when no active server is usable, and then only
//   the first usable backup unless `option allbackups` (all usable backups, balanced);
// - a server at its `maxconn` (0 = unlimited) is skipped while another is free; when every
//   candidate is full, pick() returns nullopt with `full` set, so the caller queues;
// - `exclude` (a redispatch) is avoided when another candidate exists.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "proto/config.pb.h"

namespace sluice::worker::balance {

struct server_view {
  uint32_t weight = 1;  // effective weight now (0 = takes no new traffic)
  bool usable = true;   // up and ready per the health table and admin state
  bool backup = false;
  uint32_t active = 0;   // connections in flight from this worker
  uint32_t maxconn = 0;  // 0 = unlimited
};

struct pick_request {
  // The hashing key (source address bytes, URI, url_param value, header value). Absent
  // when the request has none: hashing algorithms then fall back to round robin.
  std::optional<std::string_view> key;
  std::optional<size_t> exclude;
};

struct pick_result {
  std::optional<size_t> server;  // index into the servers span
  bool full = false;             // candidates exist but all are at maxconn
};

class balancer {
 public:
  virtual ~balancer() = default;
  // `servers` is in config order and always has the same length for one balancer.
  virtual pick_result pick(std::span<const server_view> servers, const pick_request& req) = 0;
};

// The balancer for a backend's `balance` line (algorithm, hash-type, random draws,
// allbackups). `seed` varies the starting point and random draws between workers.
std::unique_ptr<balancer> make_balancer(const sluice::config::Backend& backend, uint32_t seed = 0);

}  // namespace sluice::worker::balance
