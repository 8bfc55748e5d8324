#include "worker/core/accept.h"

#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <cerrno>

#include "worker/core/receive.h"
#include "worker/core/socket_impl.h"

namespace sluice::worker {

#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
namespace {

using reactor_op = asio::detail::reactor_op;

// Tells the reactor, without a read, that a socket has nothing to read: it "completes" at
// once with `done_and_exhausted`, after which the next read waits for the socket's next
// readiness event instead of trying first (the same mechanism as worker/core/receive.h).
// Started in the same step as the socket enters the reactor, before any event for it can
// have been seen; if its request is there already, entering epoll reports it at once.
class nothing_yet final : public reactor_op {
 public:
  nothing_yet() : reactor_op(error_code(), &nothing_yet::perform, &nothing_yet::complete) {}

 private:
  static status perform(reactor_op*) { return done_and_exhausted; }
  static void complete(void*, asio::detail::scheduler_operation* base, const error_code&,
                       std::size_t) {
    auto* o = static_cast<nothing_yet*>(base);
    asio::recycling_allocator<nothing_yet> alloc;
    o->~nothing_yet();
    alloc.deallocate(o, 1);
  }
};

}  // namespace
#endif

accepted accept_now(tcp::acceptor& acceptor, tcp::socket& out, tcp::endpoint& peer) {
  if (!acceptor.is_open()) return accepted::closed;
  socklen_t len = static_cast<socklen_t>(peer.capacity());
  const int fd =
      ::accept4(acceptor.native_handle(), peer.data(), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) {
    switch (errno) {
      case EAGAIN:
#if EWOULDBLOCK != EAGAIN
      case EWOULDBLOCK:
#endif
        return accepted::none;
      case ECONNABORTED:
      case EINTR:
      case EPROTO: return accepted::retry;
      case EBADF:
      case EINVAL: return accepted::closed;
      default: return accepted::exhausted;
    }
  }
  peer.resize(len);
  error_code ec;
  out.assign(peer.protocol(), fd, ec);  // into the reactor: one EPOLL_CTL_ADD
  if (ec) {
    ::close(fd);
    return accepted::exhausted;
  }
  namespace ops = asio::detail::socket_ops;
  auto& state = socket_impl(out).state_;
  state = static_cast<ops::state_type>((state & ~ops::possible_dup) | ops::internal_non_blocking);
#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  // A connection taken just after it was established has usually not sent anything yet
  // (a burst of accepts takes each one a moment after its handshake): its first read
  // waits for the reactor's word rather than finding nothing with a failed recv().
  auto& impl = socket_impl(out);
  asio::recycling_allocator<nothing_yet> alloc;
  reactor_of(out.get_executor())
      .start_op(asio::detail::reactor::read_op, impl.socket_, impl.reactor_data_,
                new (alloc.allocate(1)) nothing_yet(), false, true);
#endif
  return accepted::socket;
}

}  // namespace sluice::worker
