#include "worker/core/runtime.h"

#include <sys/socket.h>

#include <boost/asio/ip/v6_only.hpp>
#include <iostream>

#include "worker/tcp/tcp_session.h"

namespace sluice::worker {

namespace {

using reuse_port = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

bool open_listener(tcp::acceptor& acc, const tcp::endpoint& ep, const sluice::config::Bind& bind,
                   std::string& error) {
  error_code ec;
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.set_option(reuse_port(true), ec);
  if (!ec && ep.address().is_v6()) {
    // Linux's default decides dual-stack unless the bind says; HAProxy does the same.
    if (bind.v6only()) acc.set_option(asio::ip::v6_only(true), ec);
    if (!ec && bind.v4v6()) acc.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) acc.bind(ep, ec);
  if (!ec) {
    int backlog = bind.backlog() != 0 ? static_cast<int>(bind.backlog())
                                      : asio::socket_base::max_listen_connections;
    acc.listen(backlog, ec);
  }
  if (ec) {
    error = bind.origin().file() + ":" + std::to_string(bind.origin().line()) +
            ": cannot listen on " + ep.address().to_string() + ":" + std::to_string(ep.port()) +
            ": " + ec.message();
    return false;
  }
  return true;
}

}  // namespace

runtime::runtime(const sluice::config::Config& cfg) : cfg_(cfg), signals_(io_, SIGINT, SIGTERM) {}

runtime::~runtime() = default;

bool runtime::start(std::vector<std::string>& errors) {
  proxies_ = build_proxies(cfg_, errors);
  for (auto& fe : proxies_.frontends) {
    if (fe.cfg->disabled()) continue;
    if (fe.cfg->mode() != sluice::config::MODE_TCP) {
      errors.push_back(fe.cfg->origin().file() + ":" + std::to_string(fe.cfg->origin().line()) +
                       ": frontend '" + fe.cfg->name() +
                       "' is in mode http, which this version cannot serve yet (mode tcp only)");
      continue;
    }
    for (const auto& bind : fe.cfg->binds()) {
      if (!bind.unix_path().empty()) {
        errors.push_back(bind.origin().file() + ":" + std::to_string(bind.origin().line()) +
                         ": Unix socket binds cannot be served yet");
        continue;
      }
      error_code ec;
      auto addr = bind.address().empty() ? asio::ip::address(asio::ip::address_v4::any())
                                         : asio::ip::make_address(bind.address(), ec);
      for (uint32_t port = bind.port_first(); port <= bind.port_last(); ++port) {
        auto acc = std::make_unique<tcp::acceptor>(io_);
        std::string error;
        if (!open_listener(*acc, tcp::endpoint(addr, static_cast<uint16_t>(port)), bind, error)) {
          errors.push_back(error);
          continue;
        }
        asio::co_spawn(io_, accept_loop(*acc, fe), asio::detached);
        acceptors_.push_back(std::move(acc));
      }
    }
  }
  signals_.async_wait([this](const error_code& ec, int) {
    if (!ec) stop();
  });
  return errors.empty();
}

awaitable<void> runtime::accept_loop(tcp::acceptor& acceptor, frontend_runtime& fe) {
  const uint32_t bufsize = cfg_.global().bufsize();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_result);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // Out of descriptors or memory: pause briefly instead of spinning on the error.
      asio::steady_timer pause(io_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_result);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    start_tcp_session(std::move(socket), fe, bufsize);
  }
}

void runtime::run() {
  io_.run();
}

void runtime::stop() {
  error_code ignored;
  for (auto& a : acceptors_) a->close(ignored);
  signals_.cancel(ignored);
  io_.stop();
}

}  // namespace sluice::worker
