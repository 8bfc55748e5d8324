#pragma once
// One worker's data path: a single-threaded io_context (no locks anywhere on the data
// path), the listening sockets of its frontends, and a session per accepted connection.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "proto/config.pb.h"
#include "stats/counters.h"
#include "worker/core/asio.h"
#include "worker/core/peer.h"
#include "worker/core/proxies.h"
#include "worker/core/worker_context.h"
#include "worker/tls/context.h"
#include "worker/tls/ticket_keys.h"

namespace sluice::worker {

// A listening socket received from the master: which listen_order() entry it serves.
// Several sockets may serve one entry (SO_REUSEPORT slots folded onto fewer workers).
struct inherited_listener {
  size_t spec;
  int fd;
};

class runtime {
 public:
  // `cfg` (and `table`, when given) must outlive the runtime. `slot` is the worker's
  // number: workers start their round-robin rotations at different servers, so a few
  // connections spread over several workers do not all land on the first server.
  explicit runtime(const sluice::config::Config& cfg, const health::table* table = nullptr,
                   uint32_t slot = 0);
  ~runtime();

  // Resolves servers and starts accepting. With `inherited` empty, opens every bind of
  // every enabled frontend itself; otherwise adopts the listening sockets the master
  // opened, each tagged with its index in listen_order(). Returns false with the reasons.
  bool start(std::vector<std::string>& errors,
             const std::vector<inherited_listener>& inherited = {}, bool open_own = true);

  // Counts traffic in `counters` (which must outlive the runtime), in the blocks of
  // `slot`. Call before start().
  void count_in(stats::counter_table* counters, uint32_t slot) {
    counters_ = counters;
    counters_slot_ = slot;
  }

  // Session tickets from the master's shared ring (which must outlive the runtime), so
  // that every worker resumes every other's sessions. Without one, a ring of this process.
  // Call before start().
  void use_ticket_ring(const tls::ticket_ring& ring) { ring_ = ring; }

  // Runs until every session has ended after stop(), or until stop_now().
  void run();
  // Graceful: stop accepting; sessions in flight finish (bounded by hard-stop-after).
  void stop();
  void stop_now();

  asio::io_context& io() { return io_; }

 private:
  // A listening socket and what its connections start with.
  struct listener {
    tcp::acceptor acceptor;
    frontend_runtime& fe;
    const tls::server_context* tls;  // null on a plain bind
    conn_ends ends;
    asio::steady_timer pause;  // after running out of descriptors or memory
  };
  // Takes the connections waiting on `l` (up to a burst), starts their sessions, and
  // waits for the next ones. Plain handlers, not a coroutine: each session starts from
  // the event loop itself, as with Asio's own accept, so its frames come from and go
  // back to the loop's recycled blocks.
  void accept_some(listener& l);
  // The TLS context of an `ssl` bind, built on first use (several sockets share a bind).
  const tls::server_context* tls_for(const sluice::config::Bind& bind,
                                     std::vector<std::string>& errors);
  // Runs `job` every `period` until the worker stops.
  awaitable<void> every(std::chrono::milliseconds period, std::function<void()> job);
  // on-marked-down shutdown-sessions: closes the sessions of servers the table says are
  // down (run ten times a second, only when some server asks for it).
  void sweep_down_servers();
  void watch_signals();

  const sluice::config::Config& cfg_;
  const health::table* table_;
  uint32_t slot_;
  // Declared before io_: sessions still in the loop are destroyed with it, and they use
  // these on their way out.
  session_tracker sessions_;
  proxies proxies_;
  std::unique_ptr<access_log> log_;
  stats::counter_table* counters_ = nullptr;
  uint32_t counters_slot_ = 0;
  worker_context context_;
  // Only this thread touches the io_context, its sockets and timers, and nothing resolves
  // asynchronously (names are resolved when the config is loaded): Asio's scheduler and
  // reactor can skip their locks, about 28 mutex lock/unlock pairs per proxied connection.
  asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE};
  std::vector<std::unique_ptr<listener>> listeners_;
  tls::ticket_ring ring_;
  std::vector<std::pair<const sluice::config::Bind*, std::unique_ptr<tls::server_context>>>
      tls_contexts_;
  asio::signal_set signals_;
  asio::steady_timer hard_stop_;
  bool stopping_ = false;
};

// One listening endpoint of the config, in the order workers expect their sockets.
struct listen_spec {
  size_t frontend_index;  // in Config.frontends
  const sluice::config::Frontend* frontend;
  const sluice::config::Bind* bind;
  tcp::endpoint endpoint;
};

// Every TCP endpoint the enabled frontends listen on, in a fixed order (frontends, binds,
// ports). Problems (unsupported bind kinds, bad addresses) go to `errors`.
std::vector<listen_spec> listen_order(const sluice::config::Config& cfg,
                                      std::vector<std::string>& errors);

// Opens a listening socket as Sluice configures them (SO_REUSEADDR, SO_REUSEPORT,
// v6only/v4v6, backlog). Returns -1 with `error` set on failure.
int open_listen_socket(const listen_spec& spec, std::string& error);

}  // namespace sluice::worker
