#pragma once
// Keep-alive client connections of a mode http frontend between two requests, held
// without a session and outside Asio. An idle connection keeps its descriptor, the counts
// it takes part in, the addresses and its request count: about a hundred bytes, where a
// session holds its coroutine frames, its messages and its buffers, and an Asio socket its
// reactor state and a pending wait. When bytes (or the end) arrive, the frontend's resume
// function builds a socket and a session again from it.
//
// The descriptors wait in an epoll set of the frontend's own (EPOLLONESHOT), which the
// worker's event loop watches as one descriptor: ten thousand idle clients are one pending
// wait, not ten thousand. Parking costs two epoll_ctl (out of Asio's set, into this one)
// and waking one (back into Asio's); a connection quiet long enough to park pays that
// once per idle period.
//
// The connections of one frontend all wait `timeout http-keep-alive`, so the oldest
// expires first: one list in parking order and one timer, set for its head, close the
// ones idle too long (there is no timer per connection).

#include <boost/asio/posix/stream_descriptor.hpp>
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
  uint64_t requests = 0;     // answered on this connection so far
  bool in_idle_set = false;  // parked before: its descriptor is (disabled) in the idle set
};

// A parked connection: its descriptor and Asio's state bits for it, and the rest of its
// client_connection.
struct idle_client {
  // Takes all but the socket from `c`, whose descriptor `fd` was.
  idle_client(int fd, uint8_t socket_state, bool v6, client_connection& c)
      : fd(fd),
        socket_state(socket_state),
        v6(v6),
        ticket(std::move(c.ticket)),
        counted(std::move(c.counted)),
        src(c.src),
        dst(c.dst),
        requests(c.requests) {}

  int fd;
  uint8_t socket_state;  // Asio's bits for the descriptor (non-blocking, not shared)
  bool v6;
  session_ticket ticket;
  connection_count counted;
  route::peer src, dst;
  uint64_t requests;

  // The list's bookkeeping.
  std::chrono::steady_clock::time_point expires;
  idle_client* prev = nullptr;
  idle_client* next = nullptr;
};

class idle_clients {
 public:
  using clock = std::chrono::steady_clock;
  // Takes a connection back: it has bytes to read, or its end.
  using resume_fn = void (*)(client_connection, frontend_runtime&);

  // Throws system_error when the epoll set cannot be made.
  idle_clients(const asio::any_io_executor& ex, frontend_runtime& fe, resume_fn resume);
  // Closes the connections still waiting.
  ~idle_clients();
  idle_clients(const idle_clients&) = delete;
  idle_clients& operator=(const idle_clients&) = delete;

  // Closes the connection at `expires` (time_point::max(): never), which must not come
  // before that of any connection parked earlier. A connection that cannot be watched
  // (epoll_ctl fails) closes at once.
  void park(client_connection c, clock::time_point expires);

 private:
  void link(idle_client* c, clock::time_point expires);
  void unlink(idle_client* c);
  void arm();
  void expire();
  void watch();
  void wake();
  static void close(idle_client* c);

  frontend_runtime& fe_;
  resume_fn resume_;
  asio::posix::stream_descriptor set_;  // the epoll set of the parked descriptors
  bool watching_ = false;
  asio::steady_timer timer_;
  bool timer_set_ = false;
  idle_client* head_ = nullptr;  // the oldest
  idle_client* tail_ = nullptr;
};

}  // namespace sluice::worker
