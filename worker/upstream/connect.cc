#include "worker/upstream/connect.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>

namespace sluice::worker {

namespace {

using namespace asio::experimental::awaitable_operators;

// One attempt at one server: its endpoints in turn, each bounded by `timeout connect`.
awaitable<bool> try_server(server_runtime& srv, tcp::socket& socket, uint16_t client_port,
                           std::chrono::milliseconds timeout) {
  for (auto ep : srv.endpoints) {
    if (ep.port() == 0) ep.port(client_port);
    error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(ep.protocol(), ec);
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    if (timeout.count() == 0) {
      auto [cec] = co_await socket.async_connect(ep, use_result);
      if (!cec) co_return true;
      continue;
    }
    asio::steady_timer timer(socket.get_executor(), timeout);
    auto result = co_await (socket.async_connect(ep, use_result) || timer.async_wait(use_result));
    if (result.index() == 0 && !std::get<0>(std::get<0>(result))) co_return true;
  }
  error_code ec;
  socket.close(ec);
  co_return false;
}

}  // namespace

awaitable<std::optional<connected>> connect_upstream(backend_runtime& be, tcp::socket& socket,
                                                     uint16_t client_port) {
  const auto& cfg = *be.cfg;
  std::chrono::milliseconds timeout(cfg.timeouts().connect_ms());
  std::optional<size_t> server = be.pick();
  if (!server) co_return std::nullopt;
  const uint32_t attempts = 1 + cfg.retries();
  for (uint32_t attempt = 1; attempt <= attempts; ++attempt) {
    if (co_await try_server(be.servers[*server], socket, client_port, timeout)) {
      co_return connected{*server, attempt};
    }
    if (attempt == attempts) break;
    // Turn-around delay before retrying, so a restarting server is not hammered.
    auto delay = std::chrono::milliseconds(1000);
    if (timeout.count() != 0 && timeout < delay) delay = timeout;
    asio::steady_timer pause(socket.get_executor(), delay);
    co_await pause.async_wait(use_result);
    if (cfg.options().redispatch() && attempt + 1 == attempts) {
      if (auto other = be.pick(server)) server = other;
    }
  }
  co_return std::nullopt;
}

}  // namespace sluice::worker
