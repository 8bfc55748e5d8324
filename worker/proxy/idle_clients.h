#pragma once
// Keep-alive client connections of a mode http frontend between two requests, held
// without a session. An idle connection keeps its socket, the counts it takes part in,
// the addresses and its request count: a few hundred bytes, where a session holds its
// coroutine frames, its messages and its buffers. When bytes (or the end) arrive, the
// frontend's resume function builds a session again from it.
//
// The connections of one frontend all wait `timeout http-keep-alive`, so the oldest
// expires first: one list in parking order and one timer, set for its head, close the
// ones idle too long (there is no timer per connection).

#include <chrono>
#include <cstdint>
#include <memory>

#include "worker/core/asio.h"
#include "worker/core/session_tracker.h"
#include "worker/route/txn.h"

namespace sluice::worker {

struct frontend_runtime;

// One client connection in the frontend's and the process's counters (live connections,
// sessions started and ended) from accept to close, across sessions and idle periods.
class connection_count {
 public:
  explicit connection_count(frontend_runtime& fe);
  connection_count(connection_count&& o) noexcept : fe_(o.fe_) { o.fe_ = nullptr; }
  connection_count& operator=(connection_count&&) = delete;
  ~connection_count();

 private:
  frontend_runtime* fe_;
};

// What a client connection is apart from its requests, kept from accept to close across
// its sessions and idle periods.
struct client_connection {
  tcp::socket socket;
  session_ticket ticket;
  connection_count counted;
  route::peer src, dst;
  uint64_t requests = 0;  // answered on this connection so far
};

class idle_clients;

struct idle_client {
  explicit idle_client(client_connection c) : conn(std::move(c)) {}
  client_connection conn;

  // The list's bookkeeping.
  std::chrono::steady_clock::time_point expires;
  idle_client* prev = nullptr;
  idle_client* next = nullptr;
  idle_clients* list = nullptr;  // null once off the list (resumed, expired, list gone)
};

class idle_clients {
 public:
  using clock = std::chrono::steady_clock;
  // Takes a connection back: it has bytes to read, or its end.
  using resume_fn = void (*)(client_connection, frontend_runtime&);

  idle_clients(const asio::any_io_executor& ex, frontend_runtime& fe, resume_fn resume);
  // Forgets the connections still waiting (they close with the event loop).
  ~idle_clients();
  idle_clients(const idle_clients&) = delete;
  idle_clients& operator=(const idle_clients&) = delete;

  // Closes the connection at `expires` (time_point::max(): never), which must not come
  // before that of any connection parked earlier.
  void park(client_connection c, clock::time_point expires);

 private:
  void link(idle_client* c, clock::time_point expires);
  void unlink(idle_client* c);
  void arm();
  void expire();

  frontend_runtime& fe_;
  resume_fn resume_;
  asio::steady_timer timer_;
  bool timer_set_ = false;
  idle_client* head_ = nullptr;  // the oldest
  idle_client* tail_ = nullptr;
};

}  // namespace sluice::worker
