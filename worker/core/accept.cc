#include "worker/core/accept.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "worker/core/socket_impl.h"

namespace sluice::worker {

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
  return accepted::socket;
}

}  // namespace sluice::worker
