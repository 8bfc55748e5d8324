#pragma once
// The master's supervision of its children: it starts the workers of a generation,
// restarts one that exits or is killed (at once, then with backoff if it keeps dying), and
// on stop passes the signal on and waits for every child.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "master/spawn.h"
#include "worker/core/asio.h"

namespace sluice::master {

namespace asio = boost::asio;

class supervisor {
 public:
  // `listen_fds[slot]` are the listening sockets of worker `slot`, in listen order.
  supervisor(asio::io_context& io, const sluice::config::Config& cfg,
             std::vector<std::vector<int>> listen_fds);

  // Starts every worker; false (with messages on stderr) if a worker cannot be started.
  bool start();

  // The exit code the master should return once run() ends.
  int exit_code() const { return exit_code_; }

 private:
  struct child {
    uint32_t slot = 0;
    std::chrono::steady_clock::time_point started;
    uint32_t quick_deaths = 0;  // exits soon after starting, in a row
  };

  void spawn(uint32_t slot, uint32_t quick_deaths);
  void watch_signals();
  void reap();
  void stop(int sig);

  asio::io_context& io_;
  config_snapshot snapshot_;
  std::vector<std::vector<int>> listen_fds_;
  uint64_t generation_ = 1;
  std::map<pid_t, child> children_;
  asio::signal_set signals_;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace sluice::master
