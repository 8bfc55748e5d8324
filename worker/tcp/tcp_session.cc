#include "worker/tcp/tcp_session.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <chrono>
#include <memory>
#include <vector>

#include "worker/core/counting.h"
#include "worker/core/peer.h"
#include "worker/core/splice.h"
#include "worker/log/access_log.h"
#include "worker/tls/handshake.h"
#include "worker/upstream/connect.h"

namespace sluice::worker {

namespace {

using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

class tcp_session : public server_user {
 public:
  tcp_session(tcp::socket client, const conn_ends& ends, frontend_runtime& fe, uint32_t bufsize,
              const tls::server_context* tls)
      : ticket_(*fe.sessions),
        client_(std::move(client)),
        tls_(tls),
        ends_(ends),
        server_(client_.get_executor()),
        fe_(fe),
        watchdog_(client_.get_executor()),
        up_(bufsize),
        down_(bufsize) {
    if (fe.worker != nullptr) {
      count::add(fe.counters, &stats::counter_block::sessions);
      count::add(fe.worker->process_counters, &stats::counter_block::sessions);
    }
  }

  ~tcp_session() {
    // A pipe still holding bytes (the session ended mid-move) is not reused.
    pipe_pool::close(up_pipe_);
    pipe_pool::close(down_pipe_);
  }

  // Each coroutine takes the session's owner as a parameter, so its frame keeps the
  // session alive for as long as it runs.
  awaitable<void> run([[maybe_unused]] std::shared_ptr<tcp_session> self) {
    rec_.client = ends_.src;
    route::txn t;
    t.src = rec_.client;
    t.dst = ends_.local(client_.socket());
    rec_.http = false;
    rec_.accepted = std::chrono::system_clock::now();
    rec_.frontend = fe_.cfg->name();
    if (tls_ != nullptr) {
      const bool ok = co_await tls::accept(
          client_, *tls_, std::chrono::milliseconds(fe_.cfg->timeouts().client_ms()), fe_.counters,
          tls_facts_);
      if (!ok) {
        rec_.backend = rec_.frontend;
        rec_.server = "<NOSRV>";
        rec_.termination = {'C', 'R'};
        close_all();
        co_return;
      }
      t.tls = &tls_facts_;
    }
    t.frontend_name = fe_.cfg->name();
    const proxies* px = fe_.worker != nullptr ? fe_.worker->px : nullptr;
    t.nbsrv = [px](std::string_view name) -> int64_t {
      return px != nullptr ? px->nbsrv(name, nullptr) : -1;
    };
    backend_runtime* be = px != nullptr ? choose_backend(fe_, *px, t) : fe_.default_backend;
    chosen_ = be;
    if (be != nullptr) count::add(be->counters, &stats::counter_block::sessions);
    rec_.backend = be != nullptr ? std::string_view(be->cfg->name()) : rec_.frontend;
    rec_.server = "<NOSRV>";
    if (be == nullptr) {
      rec_.termination = {'S', 'C'};
      close_all();
      co_return;
    }
    connect_options opt;
    opt.client_port = t.dst.port;
    opt.txn = &t;
    // `balance source` hashes the client's address bytes.
    if (be->cfg->balance() == sluice::config::BALANCE_SOURCE) opt.hash_key = address_bytes(t.src);
    auto connected = co_await connect_upstream(*be, server_, opt);
    attempts_ = connected.attempts;
    rec_.t_queue = static_cast<int64_t>(connected.queue_ms);
    rec_.retries = connected.attempts > 1 ? connected.attempts - 1 : 0;
    if (connected.status != connect_status::connected) {
      rec_.termination = {connected.status == connect_status::queue_timeout ? 's' : 'S',
                          connected.status == connect_status::queue_timeout ? 'Q' : 'C'};
      close_all();
      co_return;
    }
    rec_.t_connect = static_cast<int64_t>(connected.connect_ms);
    connect_us_ = static_cast<int64_t>(connected.connect_us);
    server_index_ = connected.server;
    backend_ = be;
    rec_.server = be->servers[*server_index_].cfg->name();
    be->servers[*server_index_].attach(this);
    count::add(be->servers[*server_index_].counters, &stats::counter_block::sessions);
    touch();
    // Each side is read again right after what came from it was forwarded: those reads
    // wait for the socket's next event instead of trying first.
    client_.read_until_empty();
    server_.read_until_empty();
    if (idle_limit().count() > 0) {
      asio::co_spawn(client_.get_executor(), watch(self), asio::detached);
    }
    if (!client_.secure() && !server_.secure() && fe_.worker != nullptr) {
      reactor_ = splice_reactor(client_.get_executor());
    }
    asio::co_spawn(client_.get_executor(), pump(self, client_, server_, up_, up_pipe_, true),
                   asio::detached);
    co_await pump(self, server_, client_, down_, down_pipe_, false);
  }

 private:
  void shut_down() override { close_all(); }

  // Moves one direction until its source closes or an error ends the session. The bytes
  // are copied through `buf`; between two plain sockets, once a read fills the buffer (a
  // bulk transfer), they go through a pipe with splice() instead, never through user
  // space, until a move takes less than a buffer: then copying costs less again (a copying
  // read knows when it has emptied the socket, worker/core/receive.h; a move into a pipe
  // does not, and the next one finds nothing).
  awaitable<void> pump([[maybe_unused]] std::shared_ptr<tcp_session> self, tls::stream& from,
                       tls::stream& to, std::vector<char>& buf, [[maybe_unused]] pipe_fds& pipe,
                       bool from_client) {
    bool splicing = false;
    for (;;) {
#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
      if (splicing) {
        constexpr size_t most = 1 << 20;  // a move takes what the pipe holds (64 KiB by default)
        pipe_pool& pool = fe_.worker->pipes;
        auto [rec, n] =
            co_await async_splice_in(*reactor_, from.socket(), pool, pipe, most, use_result);
        if (rec) {
          source_ended(rec, to, from_client);
          break;
        }
        touch();
        error_code wec;
        for (size_t left = n; left > 0;) {
          auto [ec, m] = co_await async_splice_out(*reactor_, to.socket(), pipe, left, use_result);
          if (ec) {
            wec = ec;
            break;
          }
          left -= m;
          (from_client ? bytes_up_ : rec_.bytes) += m;
        }
        if (wec) {
          close_all();
          break;
        }
        pool.give(std::exchange(pipe, pipe_fds{}));  // emptied
        touch();
        splicing = n >= buf.size();
        continue;
      }
#endif
      auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), use_result);
      if (rec) {
        source_ended(rec, to, from_client);
        break;
      }
      touch();
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_result);
      (from_client ? bytes_up_ : rec_.bytes) += written;
      if (wec) {
        close_all();
        break;
      }
      touch();
      splicing = n == buf.size() && reactor_ != nullptr;
    }
    if (client_done_ && server_done_) close_all();
  }

  // The source has ended: pass the half-close on (or end the session on an error).
  void source_ended(const error_code& ec, tls::stream& to, bool from_client) {
    if (ec == asio::error::eof && !closed_) {
      error_code ignored;
      to.socket().shutdown(tcp::socket::shutdown_send, ignored);
      (from_client ? client_done_ : server_done_) = true;
      touch();
    } else {
      close_all();
    }
  }

  // One timer per session, re-armed only when it fires: activity just stamps a time.
  awaitable<void> watch([[maybe_unused]] std::shared_ptr<tcp_session> self) {
    while (!closed_) {
      auto limit = idle_limit();
      auto deadline = last_activity_ + limit;
      if (limit.count() == 0) co_return;
      if (clock::now() >= deadline) {
        rec_.termination = {'c', 'D'};
        close_all();
        co_return;
      }
      watchdog_.expires_at(deadline);
      co_await watchdog_.async_wait(use_result);
    }
  }

  // `timeout tunnel` when set; otherwise the shorter of client and server timeouts; once a
  // side has half-closed, its `-fin` timeout when set.
  std::chrono::milliseconds idle_limit() const {
    const auto& ft = fe_.cfg->timeouts();
    const auto& bt = backend_ != nullptr ? backend_->cfg->timeouts() : fe_.cfg->timeouts();
    uint64_t ms = 0;
    auto shorter = [&](uint64_t v) {
      if (v != 0 && (ms == 0 || v < ms)) ms = v;
    };
    if (client_done_ && ft.client_fin_ms() != 0) {
      shorter(ft.client_fin_ms());
    } else if (server_done_ && bt.server_fin_ms() != 0) {
      shorter(bt.server_fin_ms());
    } else if (bt.tunnel_ms() != 0) {
      ms = bt.tunnel_ms();
    } else {
      shorter(ft.client_ms());
      shorter(bt.server_ms());
    }
    return std::chrono::milliseconds(ms);
  }

  void touch() {
    last_activity_ = clock::now();
  }

  // The connection's counters and its log line, once, when it ends.
  void log() {
    using B = stats::counter_block;
    worker_context* ctx = fe_.worker;
    if (ctx == nullptr) return;
    stats::counter_block* srv =
        backend_ != nullptr && server_index_ ? backend_->servers[*server_index_].counters : nullptr;
    count::add(fe_.counters, &B::sessions_ended);
    count::add(ctx->process_counters, &B::sessions_ended);
    count::add(fe_.counters, &B::bytes_in, bytes_up_);
    count::add(fe_.counters, &B::bytes_out, rec_.bytes);
    for (stats::counter_block* b : {chosen_ != nullptr ? chosen_->counters : nullptr, srv}) {
      count::add(b, &B::sessions_ended);  // started when picked
      count::add(b, &B::bytes_out, bytes_up_);
      count::add(b, &B::bytes_in, rec_.bytes);
      count::add(b, &B::connection_attempts, attempts_);
      count::add(b, &B::connection_errors, server_index_ ? attempts_ - 1 : attempts_);
      count::add(b, &B::retries, rec_.retries);
      count::time(b, &B::connect_time, connect_us_);
      count::time(b, &B::total_time, count::micros_since(started_));
    }
    if (ctx->log == nullptr) return;
    if (rec_.bytes == 0 && fe_.cfg->options().dontlognull()) return;
    rec_.t_active =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started_).count();
    rec_.actconn = static_cast<uint32_t>(fe_.sessions->live());
    rec_.feconn = rec_.actconn;
    if (backend_ != nullptr && server_index_)
      rec_.srvconn = backend_->servers[*server_index_].active;
    ctx->log->emit(fe_.index, rec_);
  }

  void close_all() {
    if (closed_) return;
    closed_ = true;
    log();
    client_.close();
    server_.close();
    watchdog_.cancel();
    if (backend_ != nullptr && server_index_) {
      backend_->servers[*server_index_].detach(this);
      backend_->release(*server_index_);
    }
  }

  session_ticket ticket_;
  tls::stream client_;
  const tls::server_context* tls_;  // null on a plain bind
  conn_ends ends_;
  route::tls_facts tls_facts_;
  tls::stream server_;
  frontend_runtime& fe_;
  backend_runtime* backend_ = nullptr;
  std::optional<size_t> server_index_;
  asio::steady_timer watchdog_;
  clock::time_point last_activity_ = clock::now();
  std::vector<char> up_;
  std::vector<char> down_;
  asio::detail::reactor* reactor_ = nullptr;  // set when both sides are plain: may splice
  pipe_fds up_pipe_;                          // a pipe with bytes in it, while a move is under way
  pipe_fds down_pipe_;
  bool client_done_ = false;
  bool server_done_ = false;
  bool closed_ = false;
  clock::time_point started_ = clock::now();
  log_record rec_;
  backend_runtime* chosen_ = nullptr;  // the backend picked, even if no server answered
  uint64_t attempts_ = 0;
  int64_t connect_us_ = -1;
  uint64_t bytes_up_ = 0;
};

}  // namespace

void start_tcp_session(tcp::socket client, const conn_ends& ends, frontend_runtime& fe,
                       uint32_t bufsize, const tls::server_context* tls) {
  auto executor = client.get_executor();
  auto s = std::make_shared<tcp_session>(std::move(client), ends, fe, bufsize, tls);
  asio::co_spawn(executor, s->run(s), asio::detached);
}

}  // namespace sluice::worker
