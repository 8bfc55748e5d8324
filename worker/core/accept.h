#pragma once
// Takes one connection off a listener with accept4(SOCK_NONBLOCK | SOCK_CLOEXEC), as an
// Asio socket that Asio already knows to be non-blocking and held by no one else. Asio's
// own accept uses accept() and leaves both to be found out per connection: an
// ioctl(FIONBIO) before the first read, and an EPOLL_CTL_DEL before the close (for a
// descriptor that might be shared), where close() alone takes an unshared one out of epoll.

#include "worker/core/asio.h"

namespace sluice::worker {

enum class accepted {
  socket,     // `out` and `peer` hold the new connection
  none,       // nothing waiting: wait for the listener to be readable
  retry,      // a connection gone before it was taken (ECONNABORTED), or EINTR
  exhausted,  // out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
  closed,     // the listener is closed
};

// `acceptor` must be in non-blocking mode. `out` must be closed.
accepted accept_now(tcp::acceptor& acceptor, tcp::socket& out, tcp::endpoint& peer);

}  // namespace sluice::worker
