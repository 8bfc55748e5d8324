#pragma once
// A worker's idle upstream connections, kept after a response that left them reusable
// and handed to the next request for the same server (`http-reuse`). A connection the
// server has closed (or that sent unsolicited bytes) is dropped when taken (see take()),
// and one idle longer than the server's purge delay is never handed out. How many a server keeps is
// its `pool-max-conn` (no limit by default, as HAProxy): a cap below the concurrency a
// server sees makes every burst open connections again.

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
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds default_purge_delay{5000};

  // `server` identifies a server across the worker (its slot address is fine). `max`:
  // the most kept for it (< 0: no limit); the oldest goes to make room. The connection is
  // not handed out after `purge_delay`, and purge() closes it.
  void put(const void* server, tls::stream conn, int64_t max = -1,
           std::chrono::milliseconds purge_delay = default_purge_delay);
  // A connection idle for less than `unchecked_idle` goes to a request that can be sent
  // again (`resendable`) without asking the socket whether the server closed it: a
  // system call per request saved on a busy server, while a server that did close it so
  // soon costs that request one resend on a new connection. Anything else is checked, as
  // is everything for a request whose body could not be sent again.
  static constexpr std::chrono::milliseconds unchecked_idle{20};
  std::optional<tls::stream> take(const void* server, bool resendable = false);
  // Closes the connections idle past their purge delay (the worker calls it each second,
  // so a burst's connections do not stay open once traffic is back to normal).
  void purge();
  size_t idle() const;
  void clear() { idle_.clear(); }

 private:
  struct entry {
    tls::stream conn;
    clock::time_point idle_since;
    clock::time_point expires;
  };
  // Per server, oldest first.
  std::unordered_map<const void*, std::vector<entry>> idle_;
};

}  // namespace sluice::worker
