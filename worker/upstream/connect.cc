#include "worker/upstream/connect.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <iostream>

#include "worker/tls/handshake.h"

namespace sluice::worker {

namespace {

using namespace asio::experimental::awaitable_operators;

// TLS to an `ssl` server, with the SNI its expression gives for this transaction. A
// failure says why in the worker's log, at most once a second per server.
awaitable<bool> start_tls(const backend_runtime& be, server_runtime& srv, tls::stream& conn,
                          const route::txn* t, std::chrono::milliseconds timeout) {
  thread_local std::string sni;
  sni.clear();
  if (srv.sni && t != nullptr) srv.sni->render(*t, sni);
  SSL* ssl = srv.tls->new_ssl(sni);
  if (ssl == nullptr) co_return false;
  conn.start_tls(ssl);
  const error_code ec = co_await tls::handshake(conn, asio::ssl::stream_base::client, timeout);
  if (!ec) co_return true;
  const auto now = std::chrono::steady_clock::now();
  if (now - srv.tls_error_logged >= std::chrono::seconds(1)) {
    srv.tls_error_logged = now;
    std::cerr << "sluice: server " << be.cfg->name() << "/" << srv.cfg->name()
              << ": TLS handshake failed: " << tls::failure_reason(conn.ssl(), ec) << std::endl;
  }
  conn.close();
  co_return false;
}

// One attempt at one server: its endpoints in turn, each bounded by `timeout connect`.
awaitable<bool> try_server(const backend_runtime& be, server_runtime& srv, tls::stream& conn,
                           uint16_t client_port, std::chrono::milliseconds timeout,
                           const route::txn* t) {
  conn.reset();
  tcp::socket& socket = conn.socket();
  const auto started = std::chrono::steady_clock::now();
  auto left = [&] {
    if (timeout.count() == 0) return timeout;
    auto spent = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    return spent < timeout ? timeout - spent : std::chrono::milliseconds(1);
  };
  bool connected = false;
  for (auto ep : srv.endpoints) {
    if (ep.port() == 0) ep.port(client_port);
    error_code ec;
    if (socket.is_open()) socket.close(ec);
    socket.open(ep.protocol(), ec);
    if (ec) continue;
    socket.set_option(tcp::no_delay(true), ec);
    if (timeout.count() == 0) {
      auto [cec] = co_await socket.async_connect(ep, use_result);
      if (!cec) {
        connected = true;
        break;
      }
      continue;
    }
    asio::steady_timer timer(socket.get_executor(), timeout);
    auto result = co_await (socket.async_connect(ep, use_result) || timer.async_wait(use_result));
    if (result.index() == 0 && !std::get<0>(std::get<0>(result))) {
      connected = true;
      break;
    }
  }
  if (connected && srv.tls) connected = co_await start_tls(be, srv, conn, t, left());
  if (!connected) conn.close();
  co_return connected;
}

}  // namespace

awaitable<connect_result> connect_upstream(backend_runtime& be, tls::stream& conn,
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
    asio::steady_timer wait(conn.get_executor());
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
    if (auto idle = opt.pool->take(&be.servers[server], opt.resendable)) {
      conn = std::move(*idle);
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
    const bool ok =
        co_await try_server(be, be.servers[server], conn, opt.client_port, timeout, opt.txn);
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
    asio::steady_timer pause(conn.get_executor(), delay);
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
