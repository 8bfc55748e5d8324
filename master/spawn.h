#pragma once
// Starting a child process: fork, then exec the sluice binary with a role. The child gets
// the compiled config in a sealed memory file and its listening sockets by inheritance,
// and dies when the master dies (no orphans, ever).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "proto/config.pb.h"
#include "worker/core/runtime.h"

namespace sluice::master {

// A read-only snapshot of the compiled config that children can read by fd.
class config_snapshot {
 public:
  explicit config_snapshot(const sluice::config::Config& cfg);
  config_snapshot(const config_snapshot&) = delete;
  config_snapshot& operator=(const config_snapshot&) = delete;
  ~config_snapshot();
  int fd() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Reads a Config from a snapshot fd (in the child). False if it cannot be read or parsed.
bool read_config_snapshot(int fd, sluice::config::Config& out);

struct child_spec {
  std::string role;  // "worker", "health" or "stats"
  uint32_t slot = 0;
  uint64_t generation = 0;
  int config_fd = -1;
  int ready_fd = -1;       // the child writes one byte there once it accepts
  int table_fd = -1;       // the shared server table
  int counters_fd = -1;    // the shared counter table
  int counters_slot = -1;  // the slot the child writes; -1 = it writes none
  int tickets_fd = -1;     // the shared TLS session ticket keys
  std::vector<sluice::worker::inherited_listener> listen_fds;
};

// The path of the running binary, resolved once at start, so that children (and
// reloads) exec the file on disk: after an upgrade that is the new version.
const std::string& self_exe();
void remember_self_exe();

// Forks and execs `self_exe() --role=... ...`. Returns the child's pid, or -1 with `error`.
pid_t spawn_child(const child_spec& spec, std::string& error);

// Compiles `paths` with the binary on disk (`self_exe() --role=compile`), so that after an
// upgrade a reload runs the new version's compiler as well as its workers. Returns false
// with `error` when that process cannot run or answer; the caller then compiles in-process.
bool compile_with_binary_on_disk(const std::vector<std::string>& paths,
                                 sluice::config::Compiled& out, std::string& error);

}  // namespace sluice::master
