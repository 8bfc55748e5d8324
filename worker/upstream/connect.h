#pragma once
// Connecting to a backend's servers as HAProxy does: the balancer picks a server (a
// request waits in the backend's queue while every candidate is at its maxconn, up to
// `timeout queue`); `timeout connect` bounds each attempt; a failed attempt is retried up
// to `retries` times after a short turn-around delay, on the same server, except that with
// `option redispatch` the last retry goes to another server. An idle pooled connection to
// the picked server is used when the caller allows reuse.

#include <optional>
#include <string_view>

#include "worker/core/asio.h"
#include "worker/core/proxies.h"
#include "worker/tls/stream.h"
#include "worker/upstream/pool.h"

namespace sluice::worker {

enum class connect_status {
  connected,
  no_server,      // nothing usable: 503
  queue_timeout,  // waited `timeout queue` for a free server: 503
  failed,         // every attempt failed: 503
};

struct connect_result {
  connect_status status = connect_status::failed;
  size_t server = 0;      // index in the backend's servers (connected)
  uint32_t attempts = 0;  // connection attempts made (0 when an idle one was reused)
  bool reused = false;
  uint64_t queue_ms = 0;
  uint64_t connect_ms = 0;
  uint64_t queue_us = 0;  // the same, finer, for the histograms
  uint64_t connect_us = 0;
};

struct connect_options {
  uint16_t client_port = 0;                  // for servers without a port
  std::optional<std::string_view> hash_key;  // for hashing algorithms
  server_pool* pool = nullptr;               // reuse an idle connection when set
  bool resendable = false;                   // the request can go out again (see take())
  std::optional<size_t> exclude;             // a server to avoid (after a failed reuse)
  const route::txn* txn = nullptr;           // for a TLS server's `sni` expression
};

// On `connected`, the server's active count has been incremented: the caller releases it.
// For an `ssl` server the TLS handshake is part of the attempt (bounded by `timeout
// connect`, retried like a refused connection).
awaitable<connect_result> connect_upstream(backend_runtime& be, tls::stream& conn,
                                           const connect_options& opt);

}  // namespace sluice::worker
