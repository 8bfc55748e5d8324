#pragma once
// A worker's idle upstream connections, kept after a response that left them reusable
// and handed to the next request for the same server (`http-reuse`). A connection the
// server has closed (or that sent unsolicited bytes) is dropped when taken, and one idle
// longer than the purge delay is never handed out.

#include <chrono>
#include <cstddef>
#include <optional>
#include <unordered_map>
#include <vector>

#include "worker/core/asio.h"
#include "worker/tls/stream.h"

namespace sluice::worker {

class server_pool {
 public:
  static constexpr size_t max_idle_per_server = 64;
  static constexpr std::chrono::seconds purge_delay{5};

  // `server` identifies a server across the worker (its slot address is fine).
  void put(const void* server, tls::stream conn);
  std::optional<tls::stream> take(const void* server);
  void clear() { idle_.clear(); }

 private:
  struct entry {
    tls::stream conn;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<const void*, std::vector<entry>> idle_;
};

}  // namespace sluice::worker
