#pragma once
// Moving a TCP stream through a pipe with splice(): socket -> pipe -> socket, the bytes
// never copied into user space (`mode tcp` between two plain sockets).
//
// Two operations on Asio's reactor, in the manner of worker/core/receive.h: the move into
// a pipe is a read operation of the source socket, the move out of it a write operation
// of the destination. Each tries at once and waits for the socket's readiness only when
// the kernel says EAGAIN. They complete like `async_read_some`/`async_write_some`:
// (error_code, bytes), `eof` when the source has ended, `operation_aborted` when the
// socket is cancelled or closed.
//
// A pipe is held only while bytes are in it: the move in takes one from the worker's
// pool at the moment the socket has bytes (inside the reactor's attempt), and the mover
// gives it back once it has emptied it. A waiting connection holds none, so ten thousand
// quiet tunnels cost no pipes (the kernel also limits the pipe memory of an unprivileged
// user: past `fs.pipe-user-pages-soft`, new pipes get one page). The pipe is emptied
// before the next move in, so a move in that finds nothing means the socket has nothing
// (never a full pipe), and a slow destination holds its source back by one pipe of bytes.

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "worker/core/asio.h"
#include "worker/core/reactor_ops.h"

namespace sluice::worker {

struct pipe_fds {
  int read_end = -1;
  int write_end = -1;
  bool valid() const { return read_end >= 0; }
};

// A worker's empty pipes, kept for the next move (up to `keep`).
class pipe_pool {
 public:
  pipe_pool() = default;
  pipe_pool(const pipe_pool&) = delete;
  pipe_pool& operator=(const pipe_pool&) = delete;
  ~pipe_pool() {
    for (pipe_fds p : free_) close(p);
  }
  // An empty pipe; invalid when none can be made (out of descriptors).
  pipe_fds take() {
    if (!free_.empty()) {
      pipe_fds p = free_.back();
      free_.pop_back();
      return p;
    }
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return {};
    return {fds[0], fds[1]};
  }
  // `p` must be empty (a pipe with bytes left in it goes to close()).
  void give(pipe_fds p) {
    if (free_.size() < keep) {
      free_.push_back(p);
    } else {
      close(p);
    }
  }
  static void close(pipe_fds p) {
    if (p.read_end >= 0) ::close(p.read_end);
    if (p.write_end >= 0) ::close(p.write_end);
  }

 private:
  static constexpr size_t keep = 64;
  std::vector<pipe_fds> free_;
};

// The reactor the moves of a session between two plain sockets run on; null where there
// are none (the io_uring build), and the bytes are copied.
inline asio::detail::reactor* splice_reactor([[maybe_unused]] const asio::any_io_executor& ex) {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  return nullptr;
#else
  return &reactor_of(ex);
#endif
}

#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
namespace splice_detail {

using reactor_op = asio::detail::reactor_op;

// What a splice() that returned `n` makes of operation `o`.
inline reactor_op::status moved(reactor_op* o, ssize_t n) {
  if (n > 0) {
    o->ec_ = error_code();
    o->bytes_transferred_ = static_cast<size_t>(n);
    return reactor_op::done;
  }
  if (n == 0) {
    o->ec_ = asio::error::eof;
    return reactor_op::done;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) return reactor_op::not_done;
  o->ec_ = error_code(errno, asio::error::get_system_category());
  return reactor_op::done;
}

inline ssize_t splice_once(int in, int out, size_t len) {
  ssize_t n;
  do {
    n = ::splice(in, nullptr, out, nullptr, len, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  } while (n < 0 && errno == EINTR);
  return n;
}

// `pool` set: a move in, into a pipe taken from it when the socket has bytes, left in
// `*pipe` (given back if nothing came). Otherwise a move out of `*pipe`.
template <typename Handler>
class op : public completing_op<op<Handler>, Handler> {
 public:
  op(int sock, pipe_pool* pool, pipe_fds* pipe, size_t len, Handler&& h)
      : completing_op<op<Handler>, Handler>(&op::perform, std::move(h)),
        sock_(sock),
        pool_(pool),
        pipe_(pipe),
        len_(len) {}

 private:
  static reactor_op::status perform(reactor_op* base) {
    auto* o = static_cast<op*>(base);
    if (o->pool_ == nullptr) {
      return moved(o, splice_once(o->pipe_->read_end, o->sock_, o->len_));
    }
    pipe_fds p = o->pool_->take();
    if (!p.valid()) {
      o->ec_ = asio::error::no_descriptors;
      return reactor_op::done;
    }
    const reactor_op::status s = moved(o, splice_once(o->sock_, p.write_end, o->len_));
    if (s == reactor_op::done && !o->ec_) {
      *o->pipe_ = p;
    } else {
      o->pool_->give(p);  // nothing went in
    }
    return s;
  }

  int sock_;
  pipe_pool* pool_;
  pipe_fds* pipe_;
  size_t len_;
};

}  // namespace splice_detail

// Moves up to `len` bytes from `from` into a pipe of `pool`, left in `pipe` (which must be
// invalid before) when bytes moved.
template <typename Token>
auto async_splice_in(asio::detail::reactor& r, tcp::socket& from, pipe_pool& pool, pipe_fds& pipe,
                     size_t len, Token&& token) {
  return start_reactor_op<splice_detail::op>(r, from, asio::detail::reactor::read_op,
                                             std::forward<Token>(token), from.native_handle(),
                                             &pool, &pipe, len);
}

// Moves up to `len` bytes (at most what `pipe` holds) from `pipe` to `to`.
template <typename Token>
auto async_splice_out(asio::detail::reactor& r, tcp::socket& to, pipe_fds& pipe, size_t len,
                      Token&& token) {
  return start_reactor_op<splice_detail::op>(r, to, asio::detail::reactor::write_op,
                                             std::forward<Token>(token), to.native_handle(),
                                             static_cast<pipe_pool*>(nullptr), &pipe, len);
}
#endif

}  // namespace sluice::worker
