#pragma once
// A worker's run-time view of the compiled config: frontends with their backends resolved
// to objects, servers with resolved endpoints and the per-worker state the data path
// updates (connections in flight). Built once when the worker starts; the Config message
// it points into outlives it.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "health/table.h"
#include "proto/config.pb.h"
#include "worker/balance/balancer.h"
#include "worker/core/asio.h"
#include "worker/core/session_tracker.h"
#include "worker/core/worker_context.h"
#include "worker/proxy/idle_clients.h"
#include "worker/route/acl.h"
#include "worker/route/format.h"
#include "worker/route/http_rules.h"
#include "worker/tls/context.h"

namespace sluice::worker {

// A session holding a connection to a server, which the worker closes when the server is
// marked down and the server says `on-marked-down shutdown-sessions`.
class server_user {
 public:
  virtual void shut_down() = 0;

 protected:
  ~server_user() = default;
};

struct server_runtime {
  const sluice::config::Server* cfg = nullptr;
  std::vector<tcp::endpoint> endpoints;  // port 0: the port the client connected to
  uint32_t active = 0;                   // connections in flight from this worker
  // The server's slot in the shared table (state, admin state, weight); null when the
  // worker runs without one (then the server counts as up and ready).
  health::server_slot* slot = nullptr;

  std::vector<server_user*> users;           // only tracked with shutdown-sessions
  stats::counter_block* counters = nullptr;  // this worker's, null when nothing is counted
  // `ssl`: the client context and the SNI to send (a format; empty = none).
  std::shared_ptr<tls::client_context> tls;
  std::shared_ptr<route::format> sni;
  std::chrono::steady_clock::time_point tls_error_logged{};  // one log line a second at most
  // Idle connections kept for reuse: at most `pool_max` (< 0: no limit; `pool-max-conn`,
  // and 0 when the TLS SNI comes from the request, since such a connection only serves
  // that name), each for `pool_purge` (`pool-purge-delay`).
  int64_t pool_max = -1;
  std::chrono::milliseconds pool_purge = server_pool::default_purge_delay;

  bool accepts_new_traffic() const {
    return slot != nullptr ? health::accepts_new_traffic(*slot) : cfg->weight() > 0;
  }
  // Passive checks: what real traffic said about the server. `layer7` results only count
  // for `observe layer7`; connection results count for both.
  void observed(bool ok, bool layer7) {
    auto mode = cfg->observe();
    if (slot == nullptr || mode == sluice::config::Server::OBSERVE_NONE) return;
    const bool l7 = mode == sluice::config::Server::OBSERVE_LAYER7;
    if (layer7 && !l7) return;
    if (ok && !layer7 && l7) return;  // a connection alone proves nothing at layer 7
    health::observe(*slot, ok);
  }
  void attach(server_user* u) {
    if (cfg->shutdown_sessions_on_down()) users.push_back(u);
  }
  void detach(server_user* u) {
    if (cfg->shutdown_sessions_on_down()) std::erase(users, u);
  }
  bool down() const {
    return slot != nullptr && slot->op.load(std::memory_order_relaxed) ==
                                  static_cast<uint32_t>(health::op_state::down);
  }
};

// A proxy's compiled HTTP routing: its ACLs and its four rule lists.
struct proxy_rules {
  proxy_rules(const google::protobuf::RepeatedPtrField<sluice::config::Acl>& a,
              const google::protobuf::RepeatedPtrField<sluice::config::HttpRule>& req,
              const google::protobuf::RepeatedPtrField<sluice::config::HttpRule>& legacy_req,
              const google::protobuf::RepeatedPtrField<sluice::config::HttpRule>& res,
              const google::protobuf::RepeatedPtrField<sluice::config::HttpRule>& legacy_res)
      : acls(a),
        request(req, acls),
        legacy_request(legacy_req, acls),
        response(res, acls),
        legacy_response(legacy_res, acls) {}
  route::acl_set acls;
  route::rule_list request;
  route::rule_list legacy_request;
  route::rule_list response;
  route::rule_list legacy_response;
};

struct backend_runtime {
  const sluice::config::Backend* cfg = nullptr;
  std::vector<server_runtime> servers;
  std::unique_ptr<balance::balancer> balancer;
  std::unique_ptr<proxy_rules> rules;
  stats::counter_block* counters = nullptr;
  // Requests waiting for a server slot (every candidate at its maxconn), oldest first.
  // Releasing a connection wakes the first one.
  std::vector<asio::steady_timer*> queue;

  // A server for a new connection or request, per the backend's algorithm; `full` when
  // every candidate is at its maxconn.
  balance::pick_result pick(const balance::pick_request& req);
  uint32_t usable_servers() const;
  bool slowstart = false;  // some server ramps its weight up after coming back
  // Bookkeeping around a connection to server `i`, waking a queued request on release.
  void acquire(size_t i) {
    servers[i].active++;
    active++;
  }
  void release(size_t i);
  uint32_t active = 0;  // connections in flight to all servers (the sum of theirs)

 private:
  std::vector<balance::server_view> views_;
};

struct frontend_runtime {
  const sluice::config::Frontend* cfg = nullptr;
  backend_runtime* default_backend = nullptr;
  session_tracker* sessions = nullptr;  // the worker's
  std::unique_ptr<proxy_rules> rules;
  // One per use_backend line: the compiled name of a dynamic one (`%[...]`), else empty.
  std::vector<route::format> backend_names;
  size_t index = 0;  // in Config.frontends
  worker_context* worker = nullptr;
  uint32_t conns = 0;  // live client connections (for the log)
  stats::counter_block* counters = nullptr;
  // Keep-alive clients between requests (mode http; made when the first one parks).
  std::unique_ptr<idle_clients> idle;
};

// Builds the run-time view; server names that do not resolve are reported in `errors`.
struct proxies {
  std::vector<std::unique_ptr<frontend_runtime>> frontends;
  std::vector<std::unique_ptr<backend_runtime>> backends;

  backend_runtime* backend_named(std::string_view name) const;
  // The `nbsrv` fetch: usable servers of backend `name` ("" = `current`), -1 if none such.
  int64_t nbsrv(std::string_view name, const backend_runtime* current) const;
};

// The backend a transaction goes to: the first `use_backend` whose condition holds (a
// dynamic name that names no backend is skipped), else the default backend, else null.
backend_runtime* choose_backend(const frontend_runtime& fe, const proxies& px, route::txn& t);

// `seed` (the worker's slot) varies where balancing starts between workers.
proxies build_proxies(const sluice::config::Config& cfg, const health::table* table,
                      std::vector<std::string>& errors, uint32_t seed = 0);

}  // namespace sluice::worker
