#pragma once
// Connecting to a backend's servers as HAProxy does: `timeout connect` bounds each attempt;
// a failed attempt is retried up to `retries` times after a short turn-around delay, on
// the same server, except that with `option redispatch` the last retry goes to another
// server.

#include <optional>

#include "worker/core/asio.h"
#include "worker/core/proxies.h"

namespace sluice::worker {

struct connected {
  size_t server;      // index in the backend's servers
  uint32_t attempts;  // 1 when the first attempt worked
};

// Connects `socket` to a server of `be`. `client_port` is used for servers without a
// port. nullopt when no server is usable or every attempt failed.
awaitable<std::optional<connected>> connect_upstream(backend_runtime& be, tcp::socket& socket,
                                                     uint16_t client_port);

}  // namespace sluice::worker
