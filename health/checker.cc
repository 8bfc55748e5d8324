#include "health/checker.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <iostream>
#include <random>

#include "health/http_check.h"
#include "health/rise_fall.h"
#include "worker/core/resolve.h"
#include "worker/route/format.h"
#include "worker/tls/context.h"
#include "worker/tls/handshake.h"

namespace sluice::health {

namespace {

namespace pb = sluice::config;
using namespace asio::experimental::awaitable_operators;
using worker::tcp;
using worker::use_result;
using clock = std::chrono::steady_clock;

// Responses are judged on at most this much; a check needs the status line, or a string.
constexpr size_t max_check_response = 16384;

uint64_t now_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::mt19937& rng() {
  static std::mt19937 gen(std::random_device{}());
  return gen;
}

}  // namespace

struct checker::target {
  const pb::Backend* backend;
  const pb::Server* server;
  server_slot* slot;
  std::string key;
  std::vector<tcp::endpoint> endpoints;
  rise_fall rf;
  asio::steady_timer timer;
  bool fast = false;              // passive checks asked for fastinter until the next success
  clock::time_point cycle_start;  // when the last check began: the next is due from there
  stats::counter_block* counters = nullptr;  // the server's, in the health process's slot
  clock::time_point last_check = clock::now();
  // check-ssl (or an `ssl` server checked on its own port): checks speak TLS.
  std::unique_ptr<worker::tls::client_context> tls;
  // The SNI checks send: the server's `sni` when it is a constant (checks have no request
  // to evaluate one on), else none, and the name is then verified against `verifyhost`.
  std::string sni;

  target(asio::io_context& io, const pb::Backend* b, const pb::Server* s, server_slot* sl,
         uint32_t health)
      : backend(b),
        server(s),
        slot(sl),
        key(b->name() + "/" + s->name()),
        rf(s->rise(), s->fall(), health),
        timer(io) {}
};

checker::checker(asio::io_context& io, const pb::Config& cfg, table& t)
    : io_(io), cfg_(cfg), table_(t) {}

checker::~checker() = default;

void checker::stop() {
  stopped_ = true;
  for (auto& t : targets_) t->timer.cancel();
}

size_t checker::targets() const {
  return targets_.size();
}

bool checker::start(std::vector<std::string>& errors) {
  for (const auto& be : cfg_.backends()) {
    for (const auto& srv : be.servers()) {
      if (!srv.check()) continue;
      std::string key = be.name() + "/" + srv.name();
      server_slot* slot = table_.find(key);
      if (slot == nullptr) {
        errors.push_back("no shared table slot for " + key);
        continue;
      }
      uint32_t port = srv.check_port() != 0 ? srv.check_port() : srv.port();
      if (port == 0) {
        errors.push_back(srv.origin().file() + ":" + std::to_string(srv.origin().line()) +
                         ": server " + key + " has no port to check (add 'port N')");
        continue;
      }
      // A reload keeps the counter: a server that was up stays up, no flap.
      uint32_t health =
          slot->checked.load() != 0 ? slot->health.load() : rise_fall::initial(srv.rise());
      auto t = std::make_shared<target>(io_, &be, &srv, slot, health);
      if (counters_ != nullptr) {
        if (auto i = counters_->index_of(stats::server_key(be.name(), srv.name()))) {
          t->counters = &counters_->block(*i, counters_slot_);
        }
      }
      std::string error;
      const std::string& host = srv.check_addr().empty() ? srv.address() : srv.check_addr();
      t->endpoints = worker::resolve_host(host, static_cast<uint16_t>(port), error);
      if (t->endpoints.empty()) {
        errors.push_back("server " + key + ": " + error);
        continue;
      }
      if (srv.check_ssl()) {
        t->tls = worker::tls::client_context::build(srv.tls(), error);
        if (!t->tls) {
          errors.push_back("server " + key + ": TLS: " + error);
          continue;
        }
        worker::route::format sni(srv.tls().sni());
        if (!srv.tls().sni().empty() && sni.literal()) t->sni = sni.render(worker::route::txn{});
      }
      targets_.push_back(t);
    }
  }
  for (auto& t : targets_) {
    asio::co_spawn(io_, run(t), asio::detached);
    if (t->server->observe() != pb::Server::OBSERVE_NONE) {
      asio::co_spawn(io_, watch_traffic(t), asio::detached);
    }
  }
  return errors.empty();
}

// Passive checks: the workers count consecutive errors in real traffic in the table; at
// `error-limit` the server's `on-error` action runs, as HAProxy's `observe` does.
worker::awaitable<void> checker::watch_traffic(std::shared_ptr<target> t) {
  const pb::Server& srv = *t->server;
  const uint32_t limit = srv.error_limit() != 0 ? srv.error_limit() : 10;
  asio::steady_timer tick(io_);
  for (;;) {
    tick.expires_after(std::chrono::milliseconds(50));
    auto [ec] = co_await tick.async_wait(use_result);
    if (ec || stopped_) co_return;
    uint32_t errors = t->slot->observed_errors.load();
    if (errors < limit) continue;
    t->slot->observed_errors.store(0);
    std::string reason =
        std::string(srv.observe() == pb::Server::OBSERVE_LAYER7 ? "Layer7" : "Layer4") +
        " passive check: " + std::to_string(errors) + " consecutive errors";
    switch (srv.on_error()) {
      case pb::Server::ON_ERROR_FAIL_CHECK: record(*t, false, reason, 0, 0); break;
      case pb::Server::ON_ERROR_SUDDEN_DEATH:
        t->rf.pre_fatal();
        t->slot->health.store(t->rf.health());
        break;
      case pb::Server::ON_ERROR_MARK_DOWN:
        if (t->rf.force_down()) announce(*t, reason, 0, 0);
        t->slot->health.store(t->rf.health());
        t->slot->op.store(static_cast<uint32_t>(t->rf.state()));
        break;
      default: break;
    }
    // Every action also checks at fastinter from now on, until a check passes: the next
    // check is due fastinter after the last one began, if that is sooner.
    t->fast = true;
    auto due = t->cycle_start + std::chrono::milliseconds(srv.fastinter_ms());
    if (due < t->timer.expiry()) t->timer.expires_at(due);
  }
}

worker::awaitable<void> checker::run(std::shared_ptr<target> t) {
  const pb::Server& srv = *t->server;
  // Spread the first checks so that many servers are not all checked at the same instant.
  std::uniform_int_distribution<uint64_t> first(0, std::min<uint64_t>(srv.inter_ms(), 1000));
  t->timer.expires_after(std::chrono::milliseconds(first(rng())));
  co_await t->timer.async_wait(use_result);
  for (;;) {
    // The next check is due `inter` after this one started, not after it ended: otherwise
    // every interval grows by the check's own duration, and checks that end together
    // stay bunched together for good.
    t->cycle_start = clock::now();
    if (t->slot->admin.load() != static_cast<uint32_t>(admin_state::maint)) {
      bool ok = false;
      std::string reason;
      int status = 0;
      auto started = clock::now();
      co_await check_once(*t, ok, reason, status);
      auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
      record(*t, ok, reason, status, static_cast<uint32_t>(took.count()));
    }
    // inter while fully up, fastinter while changing, downinter while down.
    op_state st = t->rf.state();
    uint64_t ms = st == op_state::up     ? srv.inter_ms()
                  : st == op_state::down ? srv.downinter_ms()
                                         : srv.fastinter_ms();
    if (t->fast && st != op_state::down) ms = srv.fastinter_ms();
    if (uint32_t spread = cfg_.global().spread_checks(); spread != 0) {
      int64_t range = static_cast<int64_t>(ms * spread / 100);
      std::uniform_int_distribution<int64_t> jitter(-range, range);
      ms = static_cast<uint64_t>(std::max<int64_t>(1, static_cast<int64_t>(ms) + jitter(rng())));
    }
    t->timer.expires_at(t->cycle_start + std::chrono::milliseconds(ms));
    // Passive checks may bring the due time forward (to fastinter) while this waits.
    do {
      co_await t->timer.async_wait(use_result);
      if (stopped_) co_return;
    } while (clock::now() < t->timer.expiry());
  }
}

worker::awaitable<void> checker::check_once(target& t, bool& ok, std::string& reason, int& status) {
  const pb::Server& srv = *t.server;
  const pb::Backend& be = *t.backend;
  // HAProxy: min(timeout connect, inter) to connect; then `timeout check` (or inter) to read.
  uint64_t connect_ms = srv.inter_ms();
  if (be.timeouts().connect_ms() != 0)
    connect_ms = std::min(connect_ms, be.timeouts().connect_ms());
  uint64_t read_ms = be.timeouts().check_ms() != 0 ? be.timeouts().check_ms() : srv.inter_ms();
  tcp::socket socket(io_);
  asio::steady_timer deadline(io_);
  bool connected = false;
  for (const auto& ep : t.endpoints) {
    deadline.expires_after(std::chrono::milliseconds(connect_ms));
    auto r = co_await (socket.async_connect(ep, use_result) || deadline.async_wait(use_result));
    if (r.index() == 0 && !std::get<0>(std::get<0>(r))) {
      connected = true;
      break;
    }
    reason = r.index() == 1 ? "Layer4 timeout"
                            : "Layer4 connection problem, info: \"" +
                                  std::get<0>(std::get<0>(r)).message() + "\"";
    boost::system::error_code ignored;
    socket.close(ignored);
  }
  if (!connected) co_return;
  worker::tls::stream conn(std::move(socket));
  if (t.tls) {
    conn.start_tls(t.tls->new_ssl(t.sni));
    const auto ec = co_await worker::tls::handshake(conn, asio::ssl::stream_base::client,
                                                    std::chrono::milliseconds(connect_ms));
    if (ec) {
      reason = ec == asio::error::timed_out
                   ? std::string("Layer6 timeout")
                   : "Layer6 invalid response, info: \"" +
                         worker::tls::failure_reason(conn.ssl(), ec) + "\"";
      co_return;
    }
  }
  if (!be.http_check().enabled()) {
    ok = true;  // a TCP check passes once connected (and, with TLS, the handshake done)
    reason = t.tls ? "Layer6 check passed" : "Layer4 check passed";
    co_return;
  }
  std::string request = build_check_request(be.http_check());
  deadline.expires_after(std::chrono::milliseconds(read_ms));
  auto w = co_await (asio::async_write(conn, asio::buffer(request), use_result) ||
                     deadline.async_wait(use_result));
  if (w.index() == 1 || std::get<0>(std::get<0>(w))) {
    reason = w.index() == 1 ? "Layer7 timeout" : "Layer7 cannot send the check request";
    co_return;
  }
  std::string response;
  char buf[4096];
  for (;;) {
    auto r = co_await (conn.async_read_some(asio::buffer(buf), use_result) ||
                       deadline.async_wait(use_result));
    if (r.index() == 1) {
      reason = "Layer7 timeout";
      co_return;
    }
    auto [ec, n] = std::get<0>(r);
    bool closed = static_cast<bool>(ec);
    response.append(buf, n);
    if (response.size() >= max_check_response) closed = true;
    check_verdict v = judge_check_response(be.http_check(), response, closed);
    if (v.complete) {
      ok = v.ok;
      status = v.status;
      reason = v.ok ? "Layer7 check passed" : v.reason;
      co_return;
    }
    if (closed) {
      reason = "Layer7 invalid response";
      co_return;
    }
  }
}

std::string checker::servers_left(const target& t) const {
  uint32_t active = 0, backup = 0;
  for (const auto& srv : t.backend->servers()) {
    const server_slot* s = table_.find(t.backend->name() + "/" + srv.name());
    if (s == nullptr || !accepts_new_traffic(*s)) continue;
    (srv.backup() ? backup : active) += 1;
  }
  return std::to_string(active) + " active and " + std::to_string(backup) + " backup servers";
}

void checker::record(target& t, bool ok, const std::string& reason, int status,
                     uint32_t duration_ms) {
  const bool was_up = t.rf.up();
  const auto now = clock::now();
  if (t.counters != nullptr) {
    // HAProxy's chkfail (failures while up) and downtime, for the metrics.
    if (!ok && was_up) stats::add(t.counters->check_failures);
    if (!was_up) {
      stats::add(
          t.counters->downtime_ms,
          static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(now - t.last_check).count()));
    }
  }
  t.last_check = now;
  bool changed = t.rf.record(ok);
  if (ok) t.fast = false;
  server_slot& s = *t.slot;
  s.check_status.store(static_cast<uint32_t>(status));
  s.check_duration_ms.store(duration_ms);
  s.health.store(t.rf.health());
  s.checked.store(1);
  s.op.store(static_cast<uint32_t>(t.rf.state()));
  if (changed) announce(t, reason, status, duration_ms);
}

void checker::announce(target& t, const std::string& reason, int status, uint32_t duration_ms) {
  server_slot& s = *t.slot;
  s.transitions.fetch_add(1);
  if (t.counters != nullptr && !t.rf.up()) stats::add(t.counters->check_up_down);
  s.last_change_ms.store(now_ms());
  std::string code = status != 0 ? ", code: " + std::to_string(status) : "";
  if (t.rf.up()) {
    std::cerr << "Server " << t.key << " is UP, reason: " << reason << code
              << ", check duration: " << duration_ms << "ms. " << servers_left(t) << " online.\n";
  } else {
    std::cerr << "Server " << t.key << " is DOWN, reason: " << reason << code
              << ", check duration: " << duration_ms << "ms. " << servers_left(t) << " left.\n";
    bool any = false;
    for (const auto& srv : t.backend->servers()) {
      const server_slot* o = table_.find(t.backend->name() + "/" + srv.name());
      any = any || (o != nullptr && accepts_new_traffic(*o));
    }
    if (!any) std::cerr << "backend " << t.backend->name() << " has no server available!\n";
  }
}

}  // namespace sluice::health
