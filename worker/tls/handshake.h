#pragma once
// TLS handshakes as the data path and the health checks run them: bounded in time, and,
// on the client side of a session, counted and noted for the ssl_fc_* fetches and the
// %sslv/%sslc log fields.

#include <chrono>
#include <string>

#include "stats/counters.h"
#include "worker/core/asio.h"
#include "worker/route/txn.h"
#include "worker/tls/context.h"
#include "worker/tls/stream.h"

namespace sluice::worker::tls {

// The handshake of a stream TLS was started on, within `timeout` (0 = no limit);
// asio::error::timed_out when it ran out.
awaitable<error_code> handshake(stream& s, asio::ssl::stream_base::handshake_type type,
                                std::chrono::milliseconds timeout);

// Why a handshake failed, for logs and check reports: the certificate verification error
// when there is one, else the error's message.
std::string failure_reason(SSL* ssl, const error_code& ec);

// A client connection's handshake on an `ssl` bind: TLS from `ctx` on `s`, the handshake
// within `timeout`, counted in `counters` (may be null), and on success what it settled
// in `facts`. False: the connection is over.
awaitable<bool> accept(stream& s, const server_context& ctx, std::chrono::milliseconds timeout,
                       stats::counter_block* counters, route::tls_facts& facts);

}  // namespace sluice::worker::tls
