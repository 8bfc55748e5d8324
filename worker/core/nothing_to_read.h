#pragma once
// Whether a socket has anything for the reader, asked without reading it.

#include <sys/socket.h>

#include <cerrno>

#include "worker/core/asio.h"

namespace sluice::worker {

// True when reading `s` now would block: no bytes, no EOF, no error. A non-blocking
// MSG_PEEK of one byte, which leaves whatever is there for the next read.
inline bool nothing_to_read(tcp::socket& s) {
  char byte;
  const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace sluice::worker
