#pragma once
// Asio's implementation state of a TCP socket (descriptor, state bits, reactor data), for
// the few places that adjust what Asio does with it: the accept of worker/core/accept.h and the
// reads of worker/core/receive.h. Asio keeps it in a protected member, reached through a
// derived class.

#include "worker/core/asio.h"

namespace sluice::worker {

inline auto& socket_impl(tcp::socket& s) {
  struct access : tcp::socket {
    static auto& impl(tcp::socket& sock) { return (sock.*(&access::impl_)).get_implementation(); }
  };
  return access::impl(s);
}

}  // namespace sluice::worker
