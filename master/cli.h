#pragma once
// `sluice` command line. Exit codes: 0 success, 1 invalid configuration, 2 usage error.

#include <cstdint>
#include <string>
#include <vector>

namespace sluice::master {

inline constexpr int exit_ok = 0;
inline constexpr int exit_config_invalid = 1;
inline constexpr int exit_usage = 2;

struct cli_options {
  std::vector<std::string> config_paths;
  bool check = false;
  bool dump_config = false;
  bool quiet = false;
  bool version = false;
  bool help = false;
  std::string pidfile;
  std::string help_text;

  // Set by the master when it execs a child; not for users.
  std::string role;  // "" (master), "worker", "health" or "stats"
  uint32_t slot = 0;
  uint64_t generation = 0;
  int config_fd = -1;
  int ready_fd = -1;
  int table_fd = -1;
  int counters_fd = -1;                            // the shared counter table
  int tickets_fd = -1;                             // the shared TLS ticket keys
  int counters_slot = -1;                          // the slot this child writes its counters in
  int output_fd = -1;                              // --role=compile: where the result goes
  std::vector<std::pair<size_t, int>> listen_fds;  // (listen entry, fd)
};

// Parses argv; on a usage error prints why to stderr and returns false.
bool parse_cli(int argc, char** argv, cli_options& out);

}  // namespace sluice::master
