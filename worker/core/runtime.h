#pragma once
// One worker's data path: a single-threaded io_context (no locks anywhere on the data
// path), the listening sockets of its frontends, and a session per accepted connection.

#include <memory>
#include <string>
#include <vector>

#include "proto/config.pb.h"
#include "worker/core/asio.h"
#include "worker/core/proxies.h"

namespace sluice::worker {

class runtime {
 public:
  // `cfg` must outlive the runtime.
  explicit runtime(const sluice::config::Config& cfg);
  ~runtime();

  // Resolves servers and opens every bind of every enabled frontend (SO_REUSEPORT, so
  // several workers can share a port). Returns false with the reasons in `errors`.
  bool start(std::vector<std::string>& errors);

  // Runs until stop() or SIGINT/SIGTERM.
  void run();
  void stop();

  asio::io_context& io() { return io_; }

 private:
  awaitable<void> accept_loop(tcp::acceptor& acceptor, frontend_runtime& fe);

  const sluice::config::Config& cfg_;
  asio::io_context io_{1};
  proxies proxies_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  asio::signal_set signals_;
};

}  // namespace sluice::worker
