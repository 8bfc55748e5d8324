#pragma once
// The health process: runs every server's active checks on one Asio loop (a check that
// hangs is bounded by its timeout and never delays the others) and writes each server's
// state into the shared table, where workers see it on their next pick.

#include <memory>
#include <string>
#include <vector>

#include "health/table.h"
#include "proto/config.pb.h"
#include "stats/counters.h"
#include "worker/core/asio.h"

namespace sluice::health {

namespace asio = boost::asio;

class checker {
 public:
  checker(asio::io_context& io, const sluice::config::Config& cfg, table& t);
  ~checker();

  // Counts check results in `counters` (which must outlive the checker), in the blocks of
  // `slot`. Call before start().
  void count_in(stats::counter_table* counters, uint32_t slot) {
    counters_ = counters;
    counters_slot_ = slot;
  }

  // Resolves check addresses and starts every check. Problems go to `errors`.
  bool start(std::vector<std::string>& errors);

  size_t targets() const;

 private:
  struct target;
  worker::awaitable<void> run(std::shared_ptr<target> t);
  worker::awaitable<void> check_once(target& t, bool& ok, std::string& reason, int& status);
  worker::awaitable<void> watch_traffic(std::shared_ptr<target> t);
  void record(target& t, bool ok, const std::string& reason, int status, uint32_t duration_ms);
  // Logs an up/down transition as HAProxy does and stamps it in the table.
  void announce(target& t, const std::string& reason, int status, uint32_t duration_ms);
  std::string servers_left(const target& t) const;

  asio::io_context& io_;
  const sluice::config::Config& cfg_;
  table& table_;
  std::vector<std::shared_ptr<target>> targets_;
  bool stopped_ = false;
  stats::counter_table* counters_ = nullptr;
  uint32_t counters_slot_ = 0;

 public:
  // Ends every check loop (before the io_context goes away).
  void stop();
};

}  // namespace sluice::health
