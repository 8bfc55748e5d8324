#pragma once
// `mode http`: one client connection, its requests answered in order. For each request:
// read and check the head, run the frontend's rules, pick the backend (use_backend,
// default_backend), run the backend's rules, pick a server and connect (or reuse an idle
// connection), stream the request body, read the response head, run response rules,
// stream the response body, log, and keep the connection for the next request when both
// sides allow it.

#include "worker/core/asio.h"
#include "worker/core/peer.h"
#include "worker/core/proxies.h"
#include "worker/tls/context.h"

namespace sluice::worker {

// Takes over an accepted client connection of a mode http frontend; `tls` (null on a
// plain bind) terminates TLS first.
void start_http_session(tcp::socket client, const conn_ends& ends, frontend_runtime& fe,
                        const tls::server_context* tls = nullptr);

}  // namespace sluice::worker
