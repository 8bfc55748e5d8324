#pragma once
// The master's supervision of its children, by generation. A generation is one compiled
// config and the workers running it. The master:
//  - starts a generation's workers and waits until each reports that it accepts;
//  - restarts a worker of the current generation that exits (at once, then with backoff
//    if it keeps dying), on the same sockets;
//  - on reload (SIGHUP) compiles the files again: if they are invalid, it says why and the
//    running generation serves on untouched; if valid, it starts the next generation on the
//    same listening sockets, and only once all of its workers are ready tells the previous
//    one to stop accepting and drain;
//  - on SIGTERM/SIGINT drains every worker and exits when they are gone; SIGQUIT: now.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "health/shm_segment.h"
#include "health/table.h"
#include "master/config/compiler.h"
#include "master/listeners.h"
#include "master/spawn.h"
#include "stats/counters.h"
#include "worker/core/asio.h"
#include "worker/tls/ticket_keys.h"

namespace sluice::master {

namespace asio = boost::asio;

class supervisor {
 public:
  using compile_fn = std::function<config::compile_result()>;
  // Told how a reload ended: ok, the generation serving afterwards, and the messages
  // (FILE:LINE diagnostics, or why a new generation did not start).
  using reload_done =
      std::function<void(bool ok, uint64_t generation, const std::vector<std::string>& messages)>;

  supervisor(asio::io_context& io, compile_fn compile);
  ~supervisor();

  // Starts the first generation from `cfg`. False if its listeners cannot be opened.
  bool start(sluice::config::Config cfg);

  // Exit code for the master once the io_context has stopped.
  int exit_code() const { return exit_code_; }

  uint64_t generation() const;
  const sluice::config::Config* current_config() const;
  health::table& table() { return table_; }
  uint64_t reloads() const { return reloads_; }
  uint64_t reload_failures() const { return reload_failures_; }
  const std::string& last_reload() const { return last_reload_; }
  uint32_t workers() const;
  std::vector<pid_t> worker_pids() const;  // of the serving generation

  // Reloads now (or after the reload in progress); `done` is told the outcome.
  void reload(reload_done done);

  // Called with the new config each time a reload's generation takes over.
  void on_commit(std::function<void(const sluice::config::Config&)> f) {
    on_commit_ = std::move(f);
  }

 private:
  struct generation_state;
  struct child {
    std::string role;  // "worker", "health" or "stats"
    uint64_t generation = 0;
    uint32_t slot = 0;
    int counters_slot = -1;  // folded and freed when the child is reaped
    std::chrono::steady_clock::time_point started;
    uint32_t quick_deaths = 0;  // exits soon after starting, in a row
  };

  bool launch(std::unique_ptr<generation_state> gen, std::vector<std::string>& errors);
  bool key_servers(const sluice::config::Config& cfg, std::vector<std::string>& errors);
  void key_counters(const sluice::config::Config& cfg);
  void publish_process_state();
  void spawn(generation_state& gen, const std::string& role, uint32_t slot, uint32_t quick_deaths,
             bool wait_ready);
  void on_ready(uint64_t generation, bool ok, const std::string& why);
  void commit();
  void abandon(const std::string& why);
  void finish_reload(bool ok, const std::vector<std::string>& messages);
  void watch_signals();
  void reap();
  void stop(int sig);
  void finish_if_done();

  asio::io_context& io_;
  compile_fn compile_;
  std::function<void(const sluice::config::Config&)> on_commit_;
  listener_pool listeners_;
  health::shm_segment segment_;
  health::table table_;
  health::shm_segment counters_segment_;
  // Session ticket keys every worker shares, rotated hourly, kept across reloads.
  health::shm_segment tickets_segment_;
  worker::tls::ticket_ring tickets_;
  asio::steady_timer ticket_rotation_;
  void rotate_tickets_later();
  stats::counter_table counters_;
  std::unique_ptr<stats::slot_pool> counter_slots_;
  uint64_t worker_restarts_ = 0;
  std::map<std::string, uint32_t> config_weights_;  // per key, as the last config said
  std::unique_ptr<generation_state> current_;
  std::unique_ptr<generation_state> pending_;
  std::map<pid_t, child> children_;
  asio::signal_set signals_;
  uint64_t next_generation_ = 1;
  uint64_t reloads_ = 0;
  uint64_t reload_failures_ = 0;
  bool reload_again_ = false;
  std::vector<reload_done> waiting_;  // told when the pending generation commits or fails
  std::vector<reload_done> queued_;   // for the reload after that
  std::string last_reload_ = "none";
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace sluice::master
