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

awaitable<connect_result> connect_upstream(backend_runtime& be, tcp::socket& socket,
                                           const connect_options& opt) {
  using clock = std::chrono::steady_clock;
  const auto& cfg = *be.cfg;
  connect_result r;
  const auto queued_at = clock::now();
  balance::pick_request req{opt.hash_key, opt.exclude};
  balance::pick_result picked = be.pick(req);
  if (picked.full) {
    // Every candidate is at its maxconn: wait in the backend's queue, woken by a release.
    const auto limit = std::chrono::milliseconds(
        cfg.timeouts().queue_ms() != 0 ? cfg.timeouts().queue_ms() : cfg.timeouts().connect_ms());
    const auto deadline =
        queued_at + (limit.count() != 0 ? limit : std::chrono::milliseconds(5000));
    asio::steady_timer wait(socket.get_executor());
    if (be.counters != nullptr) stats::add(be.counters->queue_entered);
    while (picked.full && clock::now() < deadline) {
      wait.expires_at(deadline);
      be.queue.push_back(&wait);
      co_await wait.async_wait(use_result);
      std::erase(be.queue, &wait);
      picked = be.pick(req);
    }
    r.queue_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - queued_at).count());
    r.queue_ms = r.queue_us / 1000;
    if (be.counters != nullptr) stats::add(be.counters->queue_left);
    if (picked.full) {
      r.status = connect_status::queue_timeout;
      co_return r;
    }
  }
  if (!picked.server) {
    r.status = connect_status::no_server;
    co_return r;
  }
  size_t server = *picked.server;
  if (opt.pool != nullptr) {
    if (auto idle = opt.pool->take(&be.servers[server])) {
      socket = std::move(*idle);
      be.acquire(server);
      r.status = connect_status::connected;
      r.server = server;
      r.reused = true;
      co_return r;
    }
  }
  std::chrono::milliseconds timeout(cfg.timeouts().connect_ms());
  const uint32_t attempts = 1 + cfg.retries();
  const auto started = clock::now();
  be.acquire(server);
  for (uint32_t attempt = 1; attempt <= attempts; ++attempt) {
    r.attempts = attempt;
    const bool ok = co_await try_server(be.servers[server], socket, opt.client_port, timeout);
    be.servers[server].observed(ok, false);
    if (ok) {
      r.status = connect_status::connected;
      r.server = server;
      r.connect_us = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started).count());
      r.connect_ms = r.connect_us / 1000;
      co_return r;
    }
    if (attempt == attempts) break;
    // Turn-around delay before retrying, so a restarting server is not hammered.
    auto delay = std::chrono::milliseconds(1000);
    if (timeout.count() != 0 && timeout < delay) delay = timeout;
    asio::steady_timer pause(socket.get_executor(), delay);
    co_await pause.async_wait(use_result);
    if (cfg.options().redispatch() && attempt + 1 == attempts) {
      balance::pick_result other = be.pick({opt.hash_key, server});
      if (other.server && *other.server != server) {
        if (be.counters != nullptr) stats::add(be.counters->redispatches);
        be.release(server);
        server = *other.server;
        be.acquire(server);
      }
    }
  }
  be.release(server);
  r.status = connect_status::failed;
  co_return r;
}

}  // namespace sluice::worker
