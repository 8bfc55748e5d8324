#pragma once
// `mode tcp`: after a server is connected, bytes flow both ways untouched until both sides
// have closed. A side that half-closes (FIN) is passed on as a half-close, so protocols
// that rely on it keep working.

#include "worker/core/asio.h"
#include "worker/core/peer.h"
#include "worker/core/proxies.h"
#include "worker/tls/context.h"

namespace sluice::worker {

// Takes over an accepted client connection of a mode tcp frontend; `tls` (null on a plain
// bind) terminates TLS first.
void start_tcp_session(tcp::socket client, const conn_ends& ends, frontend_runtime& fe,
                       uint32_t bufsize, const tls::server_context* tls = nullptr);

}  // namespace sluice::worker
