#pragma once
// A worker's run-time view of the compiled config: frontends with their backends resolved
// to objects, servers with resolved endpoints and the per-worker state the data path
// updates (connections in flight). Built once when the worker starts; the Config message
// it points into outlives it.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "health/table.h"
#include "proto/config.pb.h"
#include "worker/core/asio.h"
#include "worker/core/session_tracker.h"

namespace sluice::worker {

struct server_runtime {
  const sluice::config::Server* cfg = nullptr;
  std::vector<tcp::endpoint> endpoints;  // port 0: the port the client connected to
  uint32_t active = 0;                   // connections in flight from this worker
  // The server's slot in the shared table (state, admin state, weight); null when the
  // worker runs without one (then the server counts as up and ready).
  health::server_slot* slot = nullptr;

  bool accepts_new_traffic() const {
    return slot != nullptr ? health::accepts_new_traffic(*slot) : cfg->weight() > 0;
  }
};

struct backend_runtime {
  const sluice::config::Backend* cfg = nullptr;
  std::vector<server_runtime> servers;
  size_t rr_next = 0;

  // The next usable server, skipping `exclude` when another is usable; nullopt when none.
  std::optional<size_t> pick(std::optional<size_t> exclude = std::nullopt);
};

struct frontend_runtime {
  const sluice::config::Frontend* cfg = nullptr;
  backend_runtime* default_backend = nullptr;
  session_tracker* sessions = nullptr;  // the worker's
};

// Builds the run-time view; server names that do not resolve are reported in `errors`.
struct proxies {
  std::vector<frontend_runtime> frontends;
  std::vector<std::unique_ptr<backend_runtime>> backends;
};

proxies build_proxies(const sluice::config::Config& cfg, const health::table* table,
                      std::vector<std::string>& errors);

}  // namespace sluice::worker
