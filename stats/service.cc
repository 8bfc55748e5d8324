#include "stats/service.h"

#include <chrono>

#include "stats/collector.h"
#include "worker/http/parser.h"
#include "worker/route/acl.h"

namespace sluice::stats {

namespace pb = sluice::config;
using worker::awaitable;
using worker::error_code;
using worker::tcp;
using worker::use_result;
namespace asio = boost::asio;

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string response(unsigned status, std::string_view reason, std::string_view type,
                     const std::string& body, bool keep_alive, bool head) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "content-type: " + std::string(type) + "\r\n";
  out += "content-length: " + std::to_string(body.size()) + "\r\n";
  out += "cache-control: no-cache\r\n";
  if (!keep_alive) out += "connection: close\r\n";
  out += "\r\n";
  if (!head) out += body;
  return out;
}

}  // namespace

struct service::impl {
  asio::io_context& io;
  const pb::Config& cfg;
  const counter_table& counters;
  const health::table& servers;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // Each frontend's ACLs, for the use-service rule's condition.
  std::vector<std::unique_ptr<worker::route::acl_set>> acls;

  const worker::route::acl_set& acls_of(const pb::Frontend& fe) const {
    for (int i = 0; i < cfg.frontends_size(); ++i) {
      if (&cfg.frontends(i) == &fe) return *acls[static_cast<size_t>(i)];
    }
    return *acls.front();
  }

  awaitable<void> accept_loop(tcp::acceptor& a, const pb::Frontend& fe, const service& owner) {
    for (;;) {
      auto [ec, socket] = co_await a.async_accept(use_result);
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io, serve(std::move(socket), fe, owner), asio::detached);
    }
  }

  // A small keep-alive HTTP/1.1 loop: scrapers send bodyless GETs.
  awaitable<void> serve(tcp::socket s, const pb::Frontend& fe, const service& owner) {
    std::string in;
    std::vector<char> buf(16384);
    asio::steady_timer idle(io);
    const uint64_t timeout_ms = fe.timeouts().client_ms() != 0 ? fe.timeouts().client_ms() : 30000;
    for (;;) {
      worker::http::request req;
      worker::http::parse_result r;
      for (;;) {
        r = worker::http::parse_request(in, {}, req);
        if (r.status != worker::http::parse_status::incomplete) break;
        idle.expires_after(std::chrono::milliseconds(timeout_ms));
        idle.async_wait([&s](const error_code& ec) {
          if (!ec) {
            error_code ignored;
            s.close(ignored);
          }
        });
        auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), use_result);
        idle.cancel();
        if (ec) co_return;
        in.append(buf.data(), n);
      }
      std::string out;
      bool keep = r.status == worker::http::parse_status::complete && req.keep_alive &&
                  req.body == worker::http::body_kind::none;
      if (r.status == worker::http::parse_status::error) {
        out = response(r.http_status, "Bad Request", "text/plain", "bad request\n", false, false);
      } else {
        in.erase(0, r.consumed);
        worker::route::txn t;
        t.req = &req;
        bool matched = false;
        for (const auto& rule : fe.http_request()) {
          if (!acls_of(fe).holds_if_present(rule.has_condition(), rule.condition(), t)) continue;
          matched = rule.action() == pb::ACTION_USE_SERVICE;
          break;
        }
        out = matched ? owner.answer(fe, req.method, req.target, keep)
                      : response(404, "Not Found", "text/plain", "not found\n", keep,
                                 req.method == "HEAD");
      }
      auto [wec, n] = co_await asio::async_write(s, asio::buffer(out), use_result);
      (void)n;
      if (wec || !keep) {
        error_code ignored;
        s.shutdown(tcp::socket::shutdown_both, ignored);
        s.close(ignored);
        co_return;
      }
    }
  }
};

service::service(asio::io_context& io, const pb::Config& cfg, const counter_table& counters,
                 const health::table& servers)
    : impl_(std::make_unique<impl>(impl{io, cfg, counters, servers, {}, {}})) {
  for (const auto& fe : cfg.frontends()) {
    impl_->acls.push_back(std::make_unique<worker::route::acl_set>(fe.acls()));
  }
}

service::~service() = default;

bool service::start(const std::vector<worker::inherited_listener>& sockets,
                    std::vector<std::string>& errors) {
  auto specs = worker::listen_order(impl_->cfg, errors);
  for (const auto& l : sockets) {
    if (l.spec >= specs.size()) {
      errors.push_back("listening socket for unknown listen entry " + std::to_string(l.spec));
      continue;
    }
    auto a = std::make_unique<tcp::acceptor>(impl_->io);
    error_code ec;
    a->assign(specs[l.spec].endpoint.protocol(), l.fd, ec);
    if (ec) {
      errors.push_back("cannot adopt listening socket: " + ec.message());
      continue;
    }
    asio::co_spawn(impl_->io, impl_->accept_loop(*a, *specs[l.spec].frontend, *this),
                   asio::detached);
    impl_->acceptors.push_back(std::move(a));
  }
  return errors.empty();
}

std::string service::answer(const pb::Frontend&, const std::string& method,
                            const std::string& target, bool keep_alive) const {
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return response(405, "Method Not Allowed", "text/plain", "GET only\n", keep_alive, false);
  }
  size_t q = target.find('?');
  std::string_view query =
      q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  auto options = parse_query(query);
  if (!options) {
    return response(400, "Bad Request", "text/plain", "unknown scope\n", keep_alive, head);
  }
  auto families = collect(impl_->cfg, impl_->counters, impl_->servers,
                          impl_->counters.read_process(), *options, wall_ms());
  return response(200, "OK", "text/plain; version=0.0.4; charset=utf-8", render_text(families),
                  keep_alive, head);
}

}  // namespace sluice::stats
