#include "worker/core/runtime.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

#include "worker/core/accept.h"
#include "worker/log/access_log.h"
#include "worker/proxy/http_session.h"
#include "worker/tcp/tcp_session.h"

namespace sluice::worker {

namespace {

std::string where(const sluice::config::Origin& o) {
  return o.file() + ":" + std::to_string(o.line()) + ": ";
}

}  // namespace

std::vector<listen_spec> listen_order(const sluice::config::Config& cfg,
                                      std::vector<std::string>& errors) {
  std::vector<listen_spec> out;
  for (int fi = 0; fi < cfg.frontends_size(); ++fi) {
    const auto& fe = cfg.frontends(fi);
    if (fe.disabled()) continue;
    for (const auto& bind : fe.binds()) {
      if (!bind.unix_path().empty()) {
        errors.push_back(where(bind.origin()) + "Unix socket binds cannot be served yet");
        continue;
      }
      error_code ec;
      auto addr = bind.address().empty() ? asio::ip::address(asio::ip::address_v4::any())
                                         : asio::ip::make_address(bind.address(), ec);
      if (ec) {
        errors.push_back(where(bind.origin()) + "bad address '" + bind.address() + "'");
        continue;
      }
      for (uint32_t port = bind.port_first(); port <= bind.port_last(); ++port) {
        out.push_back({static_cast<size_t>(fi), &fe, &bind,
                       tcp::endpoint(addr, static_cast<uint16_t>(port))});
      }
    }
  }
  return out;
}

int open_listen_socket(const listen_spec& spec, std::string& error) {
  const auto& ep = spec.endpoint;
  const auto& bind = *spec.bind;
  int fd = ::socket(ep.address().is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto fail = [&](const char* what) {
    error = where(bind.origin()) + "cannot listen on " + ep.address().to_string() + ":" +
            std::to_string(ep.port()) + ": " + what + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return -1;
  };
  if (fd < 0) return fail("socket");
  int one = 1, zero = 0;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
    return fail("SO_REUSEADDR");
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    return fail("SO_REUSEPORT");
  if (ep.address().is_v6()) {
    // Linux's default decides dual-stack unless the bind says; HAProxy does the same.
    if (bind.v6only() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
      return fail("IPV6_V6ONLY");
    }
    if (bind.v4v6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0) {
      return fail("IPV6_V6ONLY");
    }
  }
  if (::bind(fd, ep.data(), static_cast<socklen_t>(ep.size())) != 0) return fail("bind");
  int backlog = bind.backlog() != 0 ? static_cast<int>(bind.backlog()) : SOMAXCONN;
  if (::listen(fd, backlog) != 0) return fail("listen");
  return fd;
}

runtime::runtime(const sluice::config::Config& cfg, const health::table* table, uint32_t slot)
    : cfg_(cfg),
      table_(table),
      slot_(slot),
      signals_(io_, SIGINT, SIGTERM, SIGQUIT),
      hard_stop_(io_) {
  // A write to a connection its peer has closed fails with EPIPE; only splice() cannot
  // be asked not to raise SIGPIPE as well (sends use MSG_NOSIGNAL).
  ::signal(SIGPIPE, SIG_IGN);
}

runtime::~runtime() {
  sessions_.cancel_drain();
  // Pooled sockets and the idle lists' timers belong to io_, which is destroyed before
  // the context and the proxies.
  context_.pool.clear();
  for (auto& fe : proxies_.frontends) fe->idle.reset();
}

bool runtime::start(std::vector<std::string>& errors,
                    const std::vector<inherited_listener>& inherited, bool open_own) {
  proxies_ = build_proxies(cfg_, table_, errors, slot_);
  log_ = std::make_unique<access_log>(cfg_);
  context_.cfg = &cfg_;
  context_.px = &proxies_;
  context_.log = log_.get();
  context_.bufsize = cfg_.global().bufsize() != 0 ? cfg_.global().bufsize() : 16384;
  context_.buffers.set_size(context_.bufsize);
  uint32_t rewrite = cfg_.global().maxrewrite() != 0 ? cfg_.global().maxrewrite() : 1024;
  context_.limits.max_head =
      context_.bufsize > rewrite ? context_.bufsize - rewrite : context_.bufsize;
  if (cfg_.global().http_maxhdr() != 0) context_.limits.max_headers = cfg_.global().http_maxhdr();
  for (auto& fe : proxies_.frontends) {
    fe->sessions = &sessions_;
    fe->worker = &context_;
  }
  if (counters_ != nullptr) {
    // Each object's block for this worker's slot, found once: the data path only adds.
    auto block = [&](const std::string& key) -> stats::counter_block* {
      auto i = counters_->index_of(key);
      return i ? &counters_->block(*i, counters_slot_) : nullptr;
    };
    context_.process_counters = block(std::string(stats::process_key));
    for (auto& fe : proxies_.frontends) fe->counters = block(stats::frontend_key(fe->cfg->name()));
    for (auto& be : proxies_.backends) {
      be->counters = block(stats::backend_key(be->cfg->name()));
      for (auto& srv : be->servers) {
        srv.counters = block(stats::server_key(be->cfg->name(), srv.cfg->name()));
      }
    }
  }
  std::vector<listen_spec> specs = listen_order(cfg_, errors);
  std::vector<inherited_listener> sockets = inherited;
  if (sockets.empty() && open_own) {
    for (size_t i = 0; i < specs.size(); ++i) {
      // Exporter frontends belong to the stats process.
      if (specs[i].frontend->prometheus_exporter()) continue;
      std::string error;
      int fd = open_listen_socket(specs[i], error);
      if (fd < 0) {
        errors.push_back(error);
      } else {
        sockets.push_back({i, fd});
      }
    }
  }
  for (const auto& l : sockets) {
    if (l.spec >= specs.size()) {
      errors.push_back("listening socket " + std::to_string(l.fd) + " names listen entry " +
                       std::to_string(l.spec) + " of " + std::to_string(specs.size()));
      continue;
    }
    tcp::acceptor acc(io_);
    error_code ec;
    acc.assign(specs[l.spec].endpoint.protocol(), l.fd, ec);
    if (ec) {
      errors.push_back("cannot adopt listening socket " + std::to_string(l.fd) + ": " +
                       ec.message());
      continue;
    }
    // Accepted sockets inherit TCP_NODELAY from the listener: one setsockopt here instead
    // of one per connection.
    acc.set_option(tcp::no_delay(true), ec);
    // `option tcp-smart-accept` (on by default in mode http, as in HAProxy): the kernel
    // does not acknowledge the request at once but with the response, which follows
    // soon: one segment less per connection. Inherited by accepted sockets like
    // TCP_NODELAY.
    const sluice::config::Frontend& fe_cfg = *specs[l.spec].frontend;
    const bool smart_accept = fe_cfg.options().has_tcp_smart_accept()
                                  ? fe_cfg.options().tcp_smart_accept()
                                  : fe_cfg.mode() == sluice::config::MODE_HTTP;
    // Set either way: a listening socket outlives reloads, which may change the option.
    const int quickack = smart_accept ? 0 : 1;
    ::setsockopt(l.fd, IPPROTO_TCP, TCP_QUICKACK, &quickack, sizeof quickack);
    // `defer-accept`: the kernel hands a connection over once its first bytes are there
    // (or, at worst, after a second), so its session reads at once instead of waiting.
    // Set either way, as above.
    const int defer_s = specs[l.spec].bind->defer_accept() ? 1 : 0;
    ::setsockopt(l.fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
    const tls::server_context* tls = nullptr;
    if (specs[l.spec].bind->ssl()) {
      tls = tls_for(*specs[l.spec].bind, errors);
      if (tls == nullptr) continue;
    }
    conn_ends ends;
    error_code lec;
    const tcp::endpoint listening = acc.local_endpoint(lec);
    ends.dst_known = !lec && !listening.address().is_unspecified();
    if (ends.dst_known) ends.dst = to_peer(listening);
    // accept_now needs a non-blocking listener (one ioctl per listener, not per connection).
    acc.non_blocking(true, lec);
    listeners_.push_back(std::make_unique<listener>(
        listener{std::move(acc), *proxies_.frontends[specs[l.spec].frontend_index], tls, ends,
                 asio::steady_timer(io_)}));
    asio::post(io_, [this, &ln = *listeners_.back()] { accept_some(ln); });
  }
  watch_signals();
  bool sweep = false;
  for (const auto& be : proxies_.backends) {
    for (const auto& srv : be->servers) sweep = sweep || srv.cfg->shutdown_sessions_on_down();
  }
  if (sweep) {
    asio::co_spawn(io_, every(std::chrono::milliseconds(100), [this] { sweep_down_servers(); }),
                   asio::detached);
  }
  // Idle server connections past their purge delay are closed.
  asio::co_spawn(io_, every(std::chrono::seconds(1), [this] { context_.pool.purge(); }),
                 asio::detached);
  return errors.empty();
}

awaitable<void> runtime::every(std::chrono::milliseconds period, std::function<void()> job) {
  asio::steady_timer tick(io_);
  while (!stopping_) {
    tick.expires_after(period);
    auto [ec] = co_await tick.async_wait(use_result);
    if (ec) co_return;
    job();
  }
}

void runtime::sweep_down_servers() {
  for (auto& be : proxies_.backends) {
    for (auto& srv : be->servers) {
      if (srv.users.empty() || !srv.down()) continue;
      auto users = srv.users;  // shutting one down detaches it
      for (server_user* u : users) u->shut_down();
    }
  }
}

void runtime::watch_signals() {
  signals_.async_wait([this](const error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGQUIT || stopping_) {
      stop_now();  // SIGQUIT, or a second SIGTERM/SIGINT: stop at once
    } else {
      stop();
      watch_signals();
    }
  });
}

const tls::server_context* runtime::tls_for(const sluice::config::Bind& bind,
                                            std::vector<std::string>& errors) {
  for (const auto& [b, ctx] : tls_contexts_) {
    if (b == &bind) return ctx.get();
  }
  if (!ring_.valid()) ring_ = tls::ticket_ring::private_ring();
  std::string error;
  auto ctx = tls::server_context::build(bind.tls(), &ring_, error);
  if (!ctx) {
    errors.push_back(bind.origin().file() + ":" + std::to_string(bind.origin().line()) + ": bind " +
                     bind.raw() + ": TLS: " + error);
    return nullptr;
  }
  tls_contexts_.emplace_back(&bind, std::move(ctx));
  return tls_contexts_.back().second.get();
}

void runtime::accept_some(listener& l) {
  // At most `burst` connections in a row, then the loop's other work: a crowd of new
  // clients does not hold up the ones already served.
  constexpr int burst = 64;
  tcp::endpoint peer;
  for (int taken = 0; taken < burst;) {
    tcp::socket socket(io_);
    const accepted a = accept_now(l.acceptor, socket, peer);
    if (a == accepted::closed) return;
    if (a == accepted::retry) continue;
    if (a == accepted::none) {
      l.acceptor.async_wait(tcp::acceptor::wait_read, [this, &l](const error_code& ec) {
        if (ec == asio::error::operation_aborted || !l.acceptor.is_open()) return;
        accept_some(l);
      });
      return;
    }
    if (a == accepted::exhausted) {
      // Out of descriptors or memory: pause briefly instead of spinning on the error.
      l.pause.expires_after(std::chrono::milliseconds(100));
      l.pause.async_wait([this, &l](const error_code& ec) {
        if (!ec) accept_some(l);
      });
      return;
    }
    ++taken;
    l.ends.src = to_peer(peer);
    if (l.fe.cfg->mode() == sluice::config::MODE_HTTP) {
      start_http_session(std::move(socket), l.ends, l.fe, l.tls);
    } else {
      start_tcp_session(std::move(socket), l.ends, l.fe, cfg_.global().bufsize(), l.tls);
    }
  }
  asio::post(io_, [this, &l] { accept_some(l); });
}

void runtime::run() {
  io_.run();
}

void runtime::stop() {
  if (stopping_) return;
  stopping_ = true;
  error_code ignored;
  for (auto& l : listeners_) l->acceptor.close(ignored);
  // Sessions in flight finish; hard-stop-after bounds the wait.
  if (uint64_t ms = cfg_.global().hard_stop_after_ms(); ms != 0) {
    hard_stop_.expires_after(std::chrono::milliseconds(ms));
    hard_stop_.async_wait([this](const error_code& ec) {
      if (!ec) stop_now();
    });
  }
  // The count is checked again when the posted check runs: an accept that completed just
  // before the listeners closed may have started a session in between, and it must finish.
  sessions_.drain([this] {
    asio::post(io_, [this] {
      if (sessions_.live() == 0) stop_now();
    });
  });
}

void runtime::stop_now() {
  error_code ignored;
  signals_.cancel(ignored);
  hard_stop_.cancel();
  io_.stop();
}

}  // namespace sluice::worker
