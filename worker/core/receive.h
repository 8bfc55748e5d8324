#pragma once
// A read from a TCP socket that knows when it has emptied the socket.
//
// Asio's own read tries every read at once, "speculatively", and only waits for the
// reactor when that attempt finds nothing; it stops trying only after a read returned
// 0 bytes. So a session that forwards what it read and then reads the same socket again
// (every `mode tcp` exchange) pays a recv() that fails with EAGAIN before each wait.
//
// A short read alone does not prove the socket empty: a FIN that came with the data is
// still to be read, and its readiness event has already been reported, so waiting for
// another one would wait forever. The kernel says it exactly when asked (TCP_INQ, Linux
// 4.18): each read then reports how many bytes remain, and a pending FIN counts as one.
// When none remain, this read tells Asio's reactor so from inside the read itself (status
// `done_and_exhausted`), and the next read on that socket waits for the next event
// without trying first: no failed syscall, and no epoll_ctl either (an `async_wait`
// re-arms the descriptor each time). Anything that arrives later raises a new event
// (the reactor is edge-triggered).
//
// The reactor must learn this in the same step as the read: a session cannot say it
// afterwards, since an event that came in between would be forgotten.
//
// Built on Asio's reactor operation interface (Boost 1.81, epoll). It completes like
// `async_read_some`: (error_code, bytes), `eof` for an orderly end, `operation_aborted`
// when the socket is cancelled or closed.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <cerrno>
#include <cstring>
#include <utility>

#include "worker/core/asio.h"
#include "worker/core/reactor_ops.h"

namespace sluice::worker {

#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
namespace receive_detail {

using reactor = asio::detail::reactor;
using reactor_op = asio::detail::reactor_op;

template <typename Handler>
class op : public completing_op<op<Handler>, Handler> {
 public:
  op(int fd, asio::mutable_buffer buf, Handler&& h)
      : completing_op<op<Handler>, Handler>(&op::perform, std::move(h)), fd_(fd), buf_(buf) {}

 private:
  static reactor_op::status perform(reactor_op* base) {
    auto* o = static_cast<op*>(base);
    iovec iov{o->buf_.data(), o->buf_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    for (;;) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof(control);
      // MSG_DONTWAIT: this read needs no O_NONBLOCK on the socket (no ioctl to set it).
      const ssize_t n = ::recvmsg(o->fd_, &msg, MSG_DONTWAIT);
      if (n > 0) {
        o->ec_ = error_code();  // completed without a read (reactor shutting down): aborted
        o->bytes_transferred_ = static_cast<size_t>(n);
        return left_to_read(msg) == 0 ? reactor_op::done_and_exhausted : reactor_op::done;
      }
      if (n == 0) {
        o->ec_ = asio::error::eof;
        return reactor_op::done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return reactor_op::not_done;
      o->ec_ = error_code(errno, asio::error::get_system_category());
      return reactor_op::done;
    }
  }

  // What the kernel said remains after this read; -1 when it did not say.
  static int left_to_read(msghdr& msg) {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) {
        int inq = -1;
        std::memcpy(&inq, CMSG_DATA(c), sizeof(inq));
        return inq;
      }
    }
    return -1;
  }

  int fd_;
  asio::mutable_buffer buf_;
};

}  // namespace receive_detail
#endif

// Asks the kernel to report what is left with each read of `s`. False when it cannot
// (a kernel before 4.18): the socket is then read the usual way.
inline bool report_what_is_left([[maybe_unused]] tcp::socket& s) {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  return false;  // io_uring reads are submitted, never tried first: nothing to tell
#else
  const int on = 1;
  return ::setsockopt(s.native_handle(), SOL_TCP, TCP_INQ, &on, sizeof(on)) == 0;
#endif
}

// Reads some bytes from `s` (reporting what is left) into `buf` (not empty); see above.
template <typename Token>
auto async_receive(asio::detail::reactor& r, tcp::socket& s, asio::mutable_buffer buf,
                   Token&& token) {
#if defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  (void)r;
  return s.async_read_some(buf, std::forward<Token>(token));
#else
  return start_reactor_op<receive_detail::op>(r, s, asio::detail::reactor::read_op,
                                              std::forward<Token>(token), s.native_handle(), buf);
#endif
}

}  // namespace sluice::worker
