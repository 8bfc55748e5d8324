#pragma once
// An Asio endpoint as rules, balancers and logs see a peer.

#include <algorithm>
#include <string_view>

#include "worker/core/asio.h"
#include "worker/route/txn.h"

namespace sluice::worker {

inline route::peer to_peer(const tcp::endpoint& ep) {
  route::peer p;
  auto a = ep.address();
  if (a.is_v4()) {
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), p.addr.begin());
  } else {
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), p.addr.begin());
    p.v6 = true;
  }
  p.port = ep.port();
  return p;
}

// Both ends of an accepted connection. The client's address comes with the accept; the
// local one is the listener's, unless it listens on a wildcard address (then the session
// asks the kernel). Neither costs a syscall per connection otherwise.
struct conn_ends {
  route::peer src;
  route::peer dst;
  bool dst_known = false;

  route::peer local(tcp::socket& s) const {
    if (dst_known) return dst;
    error_code ec;
    auto ep = s.local_endpoint(ec);
    return ec ? route::peer{} : to_peer(ep);
  }
};

// The address bytes `balance source` hashes.
inline std::string_view address_bytes(const route::peer& p) {
  return {reinterpret_cast<const char*>(p.addr.data()), p.v6 ? 16u : 4u};
}

}  // namespace sluice::worker
