#include "worker/proxy/http_session.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "worker/core/counting.h"
#include "worker/core/peer.h"
#include "worker/http/chunked.h"
#include "worker/http/parser.h"
#include "worker/log/access_log.h"
#include "worker/proxy/error_pages.h"
#include "worker/tls/handshake.h"
#include "worker/upstream/connect.h"

namespace sluice::worker {

namespace {

namespace pb = sluice::config;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class io_end { ok, eof, timeout, error };
enum class body_end { ok, read_eof, read_timeout, read_error, write_error, bad };

int64_t since(clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(clock::now() - t).count();
}

uint64_t first_set(std::initializer_list<uint64_t> values) {
  for (uint64_t v : values) {
    if (v != 0) return v;
  }
  return 0;
}

// HAProxy's `balance uri` key: the path (or the whole URI with `whole`), cut after
// `depth` directories and `len` characters when given.
std::string_view uri_key(const pb::Backend& be, const http::request& req) {
  std::string_view key = be.balance_uri_whole() ? std::string_view(req.target) : req.path();
  if (uint32_t depth = be.balance_uri_depth(); depth != 0) {
    uint32_t seen = 0;
    for (size_t i = 0; i < key.size(); ++i) {
      if (key[i] == '/' && ++seen > depth) {
        key = key.substr(0, i);
        break;
      }
    }
  }
  if (uint32_t len = be.balance_uri_len(); len != 0 && key.size() > len) key = key.substr(0, len);
  return key;
}

// What a session fills while it serves requests and keeps the capacity of between them:
// the buffered bytes, the two messages, the serialized heads and the log record. A new
// session takes one from the worker's free list and gives it back when it ends, so a
// new connection, or one back from parking, does not allocate them all again.
struct session_scratch {
  std::string cin, sin, upstream_head, downstream_head;
  http::request req;
  http::response res;
  log_record rec;

  static std::unique_ptr<session_scratch> take() {
    auto& free = free_list();
    if (free.empty()) return std::make_unique<session_scratch>();
    auto s = std::move(free.back());
    free.pop_back();
    return s;
  }
  static void give(std::unique_ptr<session_scratch> s) {
    auto& free = free_list();
    if (s == nullptr || free.size() >= max_free) return;
    // A buffer grown for an exceptional message is not kept for the next one.
    for (std::string* b : {&s->cin, &s->sin, &s->upstream_head, &s->downstream_head}) {
      if (b->capacity() > max_kept) {
        std::string().swap(*b);
      } else {
        b->clear();
      }
    }
    // The messages and the log record are reset by the session that takes it next, per
    // request, keeping their capacity.
    free.push_back(std::move(s));
  }

 private:
  static constexpr size_t max_free = 64;
  static constexpr size_t max_kept = 16384;
  // A worker runs one thread; the list holds no Asio object, so it may outlive the loop.
  static std::vector<std::unique_ptr<session_scratch>>& free_list() {
    thread_local std::vector<std::unique_ptr<session_scratch>> free;
    return free;
  }
};

class http_session : public std::enable_shared_from_this<http_session>, public server_user {
 public:
  // A new connection (`tls`: its bind's, null on a plain one), or one back from idle.
  http_session(client_connection c, frontend_runtime& fe, const tls::server_context* tls)
      : ticket_(std::move(c.ticket)),
        counted_(std::move(c.counted)),
        client_(std::move(c.socket)),
        tls_(tls),
        server_sock_(client_.get_executor()),
        fe_(fe),
        ctx_(*fe.worker),
        deadline_(client_.get_executor(), clock::time_point::max()),
        src_(c.src),
        dst_(c.dst),
        requests_(c.requests),
        in_idle_set_(c.in_idle_set) {}
  ~http_session() { session_scratch::give(std::move(scratch_)); }

  static void start(client_connection c, frontend_runtime& fe, const tls::server_context* tls) {
    auto s = std::make_shared<http_session>(std::move(c), fe, tls);
    auto executor = s->client_.get_executor();
    asio::co_spawn(executor, s->run(s), asio::detached);
  }
  static void resume(client_connection c, frontend_runtime& fe) {
    start(std::move(c), fe, nullptr);
  }

  awaitable<void> run(std::shared_ptr<http_session> self) {
    asio::co_spawn(client_.get_executor(), watch(self), asio::detached);
    // No co_await inside a condition: GCC 12 miscompiles some (the frame's resume index
    // goes wrong and the coroutine traps).
    bool ready = true;
    if (tls_ != nullptr) {
      ready =
          co_await tls::accept(client_, *tls_, milliseconds(client_ms()), fe_.counters, tls_facts_);
    }
    if (ready) co_await serve();
    after_serve();
  }

 private:
  // -- deadlines ------------------------------------------------------------------------
  // One timer bounds whatever the session is waiting for; when it fires, pending I/O is
  // cancelled and `timed_out_` tells the waiting operation why.
  // The deadline moves on every read and write; the timer does not follow it each time
  // (that would be a timerfd syscall per operation). It only moves when the deadline comes
  // earlier than where it is set; when it fires early, it is set again for the deadline.
  void arm(uint64_t ms) {
    arm_until(ms == 0 ? clock::time_point::max() : clock::now() + milliseconds(ms));
  }
  void arm_until(clock::time_point t) {
    timed_out_ = false;
    deadline_at_ = t;
    if (t < deadline_.expiry()) deadline_.expires_at(t);
  }

  awaitable<void> watch([[maybe_unused]] std::shared_ptr<http_session> self) {
    while (!closed_) {
      co_await deadline_.async_wait(use_result);
      if (closed_) break;
      const auto now = clock::now();
      if (deadline_.expiry() > now) continue;  // moved earlier meanwhile: wait again
      if (deadline_at_ <= now) {
        timed_out_ = true;
        client_.cancel();
        server_sock_.cancel();
        deadline_at_ = clock::time_point::max();
      }
      deadline_.expires_at(deadline_at_);
    }
  }

  // -- I/O ------------------------------------------------------------------------------
  // Appends what `s` has to `buf`; `ms` bounds the wait (0 = the deadline already armed).
  awaitable<io_end> read_more(tls::stream& s, std::string& buf, uint64_t ms,
                              bool keep_deadline = false) {
    if (&s == failed_read_) co_return io_end::error;
    if (!keep_deadline) arm(ms);
    // The buffer is borrowed for this read only and goes back to the worker as soon as
    // its bytes are in `buf`: the next read, of any session, takes one still in cache (a
    // thousand busy sessions holding one each touched a thousand).
    buffer_pool::buffer chunk = ctx_.buffers.take();
    auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk.get(), ctx_.bufsize), use_result);
    if (!ec) buf.append(chunk.get(), n);
    ctx_.buffers.give(std::move(chunk));
    if (ec) {
      if (timed_out_) co_return io_end::timeout;
      co_return ec == asio::error::eof ? io_end::eof : io_end::error;
    }
    if (n == ctx_.bufsize && !s.secure()) gather(s, buf);
    co_return io_end::ok;
  }

  // One read of what `s` has now, without waiting (a plain socket): appended to `buf`,
  // `got` bytes of it.
  enum class now { bytes, none_yet, end, error };
  now read_now(tcp::socket& s, std::string& buf, size_t& got) {
    buffer_pool::buffer chunk = ctx_.buffers.take();
    got = 0;
    ssize_t n;
    do {
      n = ::recv(s.native_handle(), chunk.get(), ctx_.bufsize, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    const int error = errno;
    if (n > 0) {
      got = static_cast<size_t>(n);
      buf.append(chunk.get(), got);
    }
    ctx_.buffers.give(std::move(chunk));
    if (n > 0) return now::bytes;
    if (n == 0) return now::end;
    return error == EAGAIN || error == EWOULDBLOCK ? now::none_yet : now::error;
  }

  // A read that filled the buffer says more may be waiting: it is taken now, without
  // waiting (up to twice the buffer size in all), so that it leaves in the same write as
  // what came before: one segment and one wake-up of the reader where two writes made
  // two (a 16 KiB response and its head do not fit one buffer). Plain sockets only: TLS
  // records go through OpenSSL. The end of the stream is seen again by the next read; an
  // error is kept for it.
  void gather(tls::stream& s, std::string& buf) {
    size_t got = ctx_.bufsize;
    while (got == ctx_.bufsize && buf.size() < 2 * size_t{ctx_.bufsize}) {
      const now r = read_now(s.socket(), buf, got);
      if (r == now::error) failed_read_ = &s;
      if (r != now::bytes) return;
    }
  }

  // -- idle keep-alive connections ----------------------------------------------------
  // Between two requests a plain connection first reads whatever the client has sent
  // meanwhile: one recv, no trip through the reactor. A busy client's next request is
  // usually there already. When nothing is, the session waits, holding no read buffer (a
  // read borrows one only while it runs); after `park_after_ms` without a byte, the
  // connection parks in the frontend's idle_clients and this session ends: its coroutine
  // frames, messages and scratch are freed (ten thousand idle clients cost little more
  // than their sockets). Readable again, the connection gets a new session, which goes on
  // from the request count. The wait before parking keeps a client that sends requests
  // one after the other on one session, with no allocation per request; only
  // `max_lingering` sessions of a worker wait so, which bounds what a crowd of clients
  // going idle at once holds meanwhile.
  static constexpr uint64_t park_after_ms = 100;
  static constexpr uint32_t max_lingering = 64;  // sessions of a worker waiting to park

  // Waits for the client's next request without a read buffer, for `park_after_ms` at
  // most (a crowd going idle at once does not wait). `none_yet`: the session parks.
  awaitable<now> linger() {
    parked_since_ = clock::now();
    const uint64_t keep_ms = keep_alive_ms();
    const bool may_park = keep_ms == 0 || keep_ms > park_after_ms;
    if (may_park && ctx_.lingering >= max_lingering) co_return now::none_yet;
    arm(may_park ? park_after_ms : keep_ms);
    ++ctx_.lingering;
    auto [ec] = co_await client_.socket().async_wait(tcp::socket::wait_read, use_result);
    --ctx_.lingering;
    if (ec) co_return (timed_out_ && may_park) ? now::none_yet : now::end;  // idle too long
    size_t got = 0;
    co_return read_now(client_.socket(), cin_, got);
  }

  // Ends the session: closes the connection, or parks it when serve() asked for that.
  void after_serve() {
    if (!parking_ || closed_) {
      close_all();
      return;
    }
    closed_ = true;
    deadline_.cancel();  // ends watch(), which holds the last reference
    if (!fe_.idle) fe_.idle = std::make_unique<idle_clients>(client_.get_executor(), fe_, &resume);
    const uint64_t keep_ms = keep_alive_ms();
    fe_.idle->park({std::move(client_.socket()), std::move(ticket_), std::move(counted_), src_,
                    dst_, requests_, in_idle_set_},
                   keep_ms != 0 ? parked_since_ + milliseconds(keep_ms) : clock::time_point::max());
  }

  awaitable<io_end> write_all(tls::stream& s, std::string_view data, uint64_t ms) {
    arm(ms);
    auto [ec, n] =
        co_await asio::async_write(s, asio::buffer(data.data(), data.size()), use_result);
    (void)n;
    if (ec) co_return timed_out_ ? io_end::timeout : io_end::error;
    co_return io_end::ok;
  }

  // Copies a body from `from` (its bytes already received at the front of `buf`) to `to`,
  // leaving whatever follows the body (a pipelined request) in `buf`.
  awaitable<io_end> write_gathered(tls::stream& s, std::string_view a, std::string_view b,
                                   uint64_t ms) {
    arm(ms);
    std::array<asio::const_buffer, 2> bufs{asio::buffer(a.data(), a.size()),
                                           asio::buffer(b.data(), b.size())};
    auto [ec, n] = co_await asio::async_write(s, bufs, use_result);
    (void)n;
    if (ec) co_return timed_out_ ? io_end::timeout : io_end::error;
    co_return io_end::ok;
  }

  // Copies a body from `from` (its bytes already received at the front of `buf`) to `to`,
  // leaving whatever follows the body (a pipelined request) in `buf`. A `head` given goes
  // out first, in the same write as the body bytes already here (one syscall, one packet
  // for a small message).
  awaitable<body_end> forward_body(tls::stream& from, std::string& buf, tls::stream& to,
                                   http::body_kind kind, uint64_t length, uint64_t read_ms,
                                   uint64_t write_ms, uint64_t& moved, std::string_view head = {}) {
    std::string_view pending = head;
    if (kind == http::body_kind::none || (kind == http::body_kind::length && length == 0)) {
      if (pending.empty()) co_return body_end::ok;
      const io_end e = co_await write_all(to, pending, write_ms);
      co_return e == io_end::ok ? body_end::ok : body_end::write_error;
    }
    http::chunked_decoder dec;
    uint64_t remaining = length;
    for (;;) {
      if (!buf.empty()) {
        size_t take = buf.size();
        bool done = false;
        if (kind == http::body_kind::length) {
          if (take > remaining) take = static_cast<size_t>(remaining);
          remaining -= take;
          done = remaining == 0;
        } else if (kind == http::body_kind::chunked) {
          auto r = dec.feed(buf);
          if (r.st == http::chunked_decoder::status::error) co_return body_end::bad;
          take = r.consumed;
          done = r.st == http::chunked_decoder::status::done;
        }
        if (take > 0 || !pending.empty()) {
          if (co_await write_gathered(to, pending, std::string_view(buf).substr(0, take),
                                      write_ms) != io_end::ok) {
            co_return body_end::write_error;
          }
          pending = {};
          moved += take;
          buf.erase(0, take);
        }
        if (done) co_return body_end::ok;
      }
      if (!pending.empty()) {
        // Nothing of the body is here yet: the head does not wait for it.
        if (co_await write_all(to, pending, write_ms) != io_end::ok) {
          co_return body_end::write_error;
        }
        pending = {};
      }
      io_end e = co_await read_more(from, buf, read_ms);
      if (e == io_end::eof && kind == http::body_kind::until_close) co_return body_end::ok;
      if (e == io_end::eof) co_return body_end::read_eof;
      if (e == io_end::timeout) co_return body_end::read_timeout;
      if (e != io_end::ok) co_return body_end::read_error;
    }
  }

  // -- one transaction ------------------------------------------------------------------
  const pb::Timeouts& fe_timeouts() const { return fe_.cfg->timeouts(); }
  const pb::Timeouts& be_timeouts() const {
    return backend_ != nullptr ? backend_->cfg->timeouts() : fe_.cfg->timeouts();
  }
  uint64_t client_ms() const { return fe_timeouts().client_ms(); }
  uint64_t head_timeout_ms() const {
    return first_set({fe_timeouts().http_request_ms(), client_ms()});
  }
  uint64_t keep_alive_ms() const {
    return first_set({fe_timeouts().http_keep_alive_ms(), head_timeout_ms()});
  }
  uint64_t server_ms() const { return be_timeouts().server_ms(); }

  route::txn make_txn() {
    route::txn t;
    t.req = &req_;
    t.src = src_;
    t.dst = dst_;
    t.tls = tls_ != nullptr ? &tls_facts_ : nullptr;
    t.req_len = req_len_;
    t.frontend_name = fe_.cfg->name();
    if (backend_ != nullptr) t.backend_name = backend_->cfg->name();
    t.nbsrv = [this](std::string_view name) { return ctx_.px->nbsrv(name, backend_); };
    return t;
  }

  void begin_record() {
    std::string line = std::move(rec_.request_line);  // its buffer serves the next one
    rec_ = log_record{};
    rec_.request_line = std::move(line);
    rec_.request_line.clear();
    counted_server_ = nullptr;
    queue_us_ = connect_us_ = response_us_ = -1;
    denied_ = false;
    request_error_ = false;
    bytes_in_ = 0;
    rec_.client = src_;
    rec_.tls = tls_ != nullptr ? &tls_facts_ : nullptr;
    rec_.accepted = std::chrono::system_clock::now();
    rec_.frontend = fe_.cfg->name();
    rec_.backend = fe_.cfg->name();
    rec_.server = "<NOSRV>";
  }

  // One transaction's worth of counters, from what the log line says about it.
  void count_transaction() {
    using B = stats::counter_block;
    stats::counter_block* fe = fe_.counters;
    stats::counter_block* be = backend_ != nullptr ? backend_->counters : nullptr;
    stats::counter_block* srv = counted_server_ != nullptr ? counted_server_->counters : nullptr;
    count::add(fe, &B::http_requests);
    count::add(ctx_.process_counters, &B::http_requests);
    count::add(fe, &B::bytes_in, bytes_in_);
    count::add(fe, &B::bytes_out, rec_.bytes);
    if (request_error_) count::add(fe, &B::request_errors);
    if (denied_) count::add(fe, &B::requests_denied);
    if (rec_.status >= 0) count::response(fe, static_cast<unsigned>(rec_.status));
    for (stats::counter_block* b : {be, srv}) {
      if (b == nullptr) continue;
      count::add(b, &B::sessions_ended);  // started when the backend or server was picked
      count::add(b, &B::http_requests);
      count::add(b, &B::bytes_out, bytes_in_);
      count::add(b, &B::bytes_in, rec_.bytes);
      if (rec_.status >= 0) count::response(b, static_cast<unsigned>(rec_.status));
      count::add(b, &B::retries, rec_.retries);
      if (rec_.termination[0] == 'S' || rec_.termination[0] == 's') {
        count::add(b, rec_.termination[1] == 'C' || rec_.termination[1] == 'Q'
                          ? &B::connection_errors
                          : &B::response_errors);
      }
      count::time(b, &B::queue_time, queue_us_);
      count::time(b, &B::connect_time, connect_us_);
      count::time(b, &B::response_time, response_us_);
      count::time(b, &B::total_time, count::micros_since(request_start_));
    }
  }

  void finish_record() {
    rec_.t_active = since(request_start_);
    count_transaction();
    rec_.feconn = fe_.conns;
    rec_.actconn = static_cast<uint32_t>(fe_.sessions->live());
    if (backend_ != nullptr) {
      rec_.beconn = backend_->active;
      rec_.backend_queue = static_cast<uint32_t>(backend_->queue.size());
      if (server_) rec_.srvconn = backend_->servers[*server_].active;
    }
    if (ctx_.log != nullptr) {
      bool null_conn = rec_.status < 0 && rec_.bytes == 0;
      if (!(null_conn && fe_.cfg->options().dontlognull())) ctx_.log->emit(fe_.index, rec_);
    }
  }

  void terminate(char cause, char phase) {
    if (rec_.termination[0] == '-') rec_.termination = {cause, phase};
  }

  // Sends a response the proxy made and ends the transaction. Returns whether the client
  // connection can carry another request.
  awaitable<bool> send_generated(const std::string& bytes, unsigned status, bool keep) {
    rec_.status = static_cast<int>(status);
    rec_.bytes += bytes.size();
    bool ok = co_await write_all(client_, bytes, client_ms()) == io_end::ok;
    release_server(false);
    finish_record();
    co_return ok&& keep;
  }

  awaitable<bool> send_error(unsigned status, char cause, char phase) {
    terminate(cause, phase);
    std::string bytes = proxy::error_response(status, *fe_.cfg,
                                              backend_ != nullptr ? backend_->cfg : nullptr, true);
    co_return co_await send_generated(bytes, status, false);
  }

  // The body of a request that will not be forwarded must still be read past before the
  // next request; when it is long or unknown, closing is cheaper and safe.
  bool can_skip_request_body() const {
    if (req_.body == http::body_kind::none) return true;
    return req_.body == http::body_kind::length && req_.content_length <= cin_.size();
  }

  awaitable<bool> send_reply(const route::reply& r) {
    bool keep = req_.keep_alive && !req_.close_after && can_skip_request_body() &&
                !fe_.sessions->draining();
    if (keep && req_.body == http::body_kind::length) {
      cin_.erase(0, static_cast<size_t>(req_.content_length));
    }
    terminate(r.error_page ? 'P' : '-', r.error_page ? 'R' : '-');
    denied_ = r.error_page;
    std::string bytes =
        proxy::render_reply(r, *fe_.cfg, backend_ != nullptr ? backend_->cfg : nullptr, !keep);
    co_return co_await send_generated(bytes, r.status, keep);
  }

  // on-marked-down shutdown-sessions: the server is gone, so is this client's session.
  void shut_down() override {
    terminate('S', 'D');
    server_sock_.close();
    client_.close();
  }

  void release_server(bool reusable) {
    if (failed_read_ == &server_sock_) {
      reusable = false;
      failed_read_ = nullptr;
    }
    if (!server_) return;
    backend_->servers[*server_].detach(this);
    server_runtime& srv = backend_->servers[*server_];
    if (reusable && backend_->cfg->http_reuse() != pb::REUSE_NEVER && server_sock_.is_open()) {
      ctx_.pool.put(&srv, std::move(server_sock_), srv.pool_max, srv.pool_purge);
      server_sock_ = tls::stream(client_.get_executor());
    } else {
      server_sock_.close();
    }
    backend_->release(*server_);
    server_.reset();
  }

  // option forwardfor in the frontend, the backend or both: the backend's header name
  // wins, and a client in either `except` network gets no header (as in HAProxy).
  void add_forwarded_for() {
    const pb::ForwardFor& fe_ff = fe_.cfg->options().forwardfor();
    const pb::ForwardFor& be_ff = backend_->cfg->options().forwardfor();
    if (!fe_ff.enabled() && !be_ff.enabled()) return;
    for (const pb::ForwardFor* ff : {&fe_ff, &be_ff}) {
      if (ff->enabled() && route::in_networks(ff->except(), src_)) return;
    }
    const pb::ForwardFor& ff = be_ff.enabled() ? be_ff : fe_ff;
    // Both arms string_view: a std::string arm would make the result a temporary.
    std::string_view name =
        ff.header().empty() ? std::string_view("X-Forwarded-For") : std::string_view(ff.header());
    if (ff.if_none() && req_.headers.find(name) != http::header_list::npos) return;
    // The address read at accept, as IPv4 when the client came through a dual-stack socket.
    thread_local std::string ip;
    ip.clear();
    route::append_ip(route::unmapped(src_), ip);
    req_.headers.add(name, ip);
  }

  std::optional<std::string_view> hash_key() {
    const pb::Backend& be = *backend_->cfg;
    switch (be.balance()) {
      case pb::BALANCE_SOURCE: return address_bytes(src_);
      case pb::BALANCE_URI: return uri_key(be, req_);
      case pb::BALANCE_URL_PARAM: {
        std::string_view v;
        if (route::find_url_param(req_.query(), be.balance_arg(), v)) return v;
        return std::nullopt;
      }
      case pb::BALANCE_HDR: {
        const std::string* v = req_.headers.get(be.balance_arg());
        if (v == nullptr) return std::nullopt;
        std::string_view key = *v;
        if (be.balance_hdr_domain_only()) {
          // The two last labels of a host name (port removed): www.example.com -> example.com.
          key = key.substr(0, key.find(':'));
          size_t last = key.rfind('.');
          if (last != std::string_view::npos && last > 0) {
            size_t prev = key.rfind('.', last - 1);
            if (prev != std::string_view::npos) key = key.substr(prev + 1);
          }
        }
        return key;
      }
      default: return std::nullopt;
    }
  }

  // The request head as the server gets it.
  void prepare_upstream_request() {
    if (req_.expect_continue) req_.headers.remove("expect");
    auto mode = backend_->cfg->options().conn_mode();
    if (fe_.cfg->options().conn_mode() != pb::CONN_KEEP_ALIVE)
      mode = fe_.cfg->options().conn_mode();
    if (!req_.upgrade) {
      // Connection is hop-by-hop: a client closing its own connection says nothing about
      // the server's, which stays open for the next request (keep-alive mode) or is told
      // to close (server-close, close), as in HAProxy.
      req_.headers.remove("connection");
      req_.headers.remove("keep-alive");
      if (mode != pb::CONN_KEEP_ALIVE) {
        req_.headers.add("Connection", "close");
      } else if (req_.version_minor == 0) {
        req_.headers.add("Connection", "keep-alive");
      }
    }
    upstream_head_.clear();
    http::serialize(req_, upstream_head_);
  }

  bool reuse_allowed() const {
    switch (backend_->cfg->http_reuse()) {
      case pb::REUSE_NEVER: return false;
      // The first request of a connection gets its own server connection: a client that
      // sends only one request never risks a connection the server is closing.
      case pb::REUSE_SAFE: return requests_ > 1;
      default: return true;
    }
  }

  // Reads the response head, relaying interim (1xx) responses. Returns 0 on success or
  // the status to answer with; `retry` is set when the connection died before answering
  // anything and the request may be sent again (`retryable`).
  awaitable<unsigned> read_response_head(bool retryable, bool& retry) {
    retry = false;
    http::request_context rc{req_.method == "HEAD", req_.method == "CONNECT"};
    const auto started = clock::now();
    // `timeout server` bounds the whole head, interim responses included.
    const auto deadline =
        server_ms() != 0 ? started + milliseconds(server_ms()) : clock::time_point::max();
    for (;;) {
      if (!sin_.empty()) {
        auto r = http::parse_response(sin_, ctx_.limits, rc, res_);
        if (r.status == http::parse_status::error) {
          terminate('P', 'H');
          co_return 502;
        }
        if (r.status == http::parse_status::complete) {
          if (res_.status >= 100 && res_.status < 200 && res_.status != 101) {
            // Interim responses go to HTTP/1.1 clients as they come.
            if (req_.version_minor == 1) {
              if (co_await write_all(client_, std::string_view(sin_).substr(0, r.consumed),
                                     client_ms()) != io_end::ok) {
                terminate('C', 'H');
                co_return 400;
              }
            }
            sin_.erase(0, r.consumed);
            continue;
          }
          sin_.erase(0, r.consumed);
          rec_.t_response = since(started);
          response_us_ = count::micros_since(started);
          co_return 0;
        }
      }
      arm_until(deadline);
      io_end e = co_await read_more(server_sock_, sin_, 0, true);
      if (e == io_end::ok) continue;
      if (e == io_end::timeout) {
        terminate('s', 'H');
        co_return 504;
      }
      if (retryable && sin_.empty()) {
        retry = true;
        co_return 0;
      }
      terminate('S', 'H');
      co_return 502;
    }
  }

  // Sends the response head to the client with the connection decision applied.
  void prepare_downstream_response(bool keep) {
    if (res_.status != 101) {
      res_.headers.remove("connection");
      res_.headers.remove("keep-alive");
      if (!keep && req_.version_minor == 1) res_.headers.add("connection", "close");
      if (keep && req_.version_minor == 0) res_.headers.add("connection", "keep-alive");
    }
    downstream_head_.clear();
    http::serialize(res_, downstream_head_);
  }

  awaitable<void> tunnel() {
    uint64_t ms = first_set({be_timeouts().tunnel_ms(), std::max(client_ms(), server_ms())});
    auto self = shared_from_this();
    asio::co_spawn(client_.get_executor(), pump(self, client_, server_sock_, cin_, ms),
                   asio::detached);
    co_await pump(self, server_sock_, client_, sin_, ms);
  }

  awaitable<void> pump([[maybe_unused]] std::shared_ptr<http_session> self, tls::stream& from,
                       tls::stream& to, std::string& pending, uint64_t ms) {
    std::vector<char> buf(ctx_.bufsize);
    if (!pending.empty()) {
      auto [wec, n] = co_await asio::async_write(to, asio::buffer(pending), use_result);
      (void)n;
      pending.clear();
      if (wec) {
        close_all();
        co_return;
      }
    }
    for (;;) {
      arm(ms);
      auto [rec, n] = co_await from.async_read_some(asio::buffer(buf), use_result);
      if (rec) {
        if (rec == asio::error::eof && !closed_) {
          error_code ignored;
          to.socket().shutdown(tcp::socket::shutdown_send, ignored);
          if (++tunnel_closed_ == 2) close_all();
        } else {
          close_all();
        }
        co_return;
      }
      arm(ms);
      auto [wec, written] = co_await asio::async_write(to, asio::buffer(buf.data(), n), use_result);
      (void)written;
      if (wec) {
        close_all();
        co_return;
      }
      rec_.bytes += n;
    }
  }

  // The connection's requests, one after the other, in one coroutine frame: a frame per
  // request would cost an allocation per request (Asio recycles small frames only).
  awaitable<void> serve() {
    for (;;) {
      {
        req_.reset();
        res_.reset();
        backend_ = nullptr;
        sin_.clear();

        // The head: `timeout http-keep-alive` while idle between requests, then
        // `timeout http-request` for the whole head once it has started.
        const bool first = requests_ == 0;
        const uint64_t head_ms = head_timeout_ms();
        if (cin_.empty()) {
          if (!first && !client_.secure()) {
            size_t got = 0;
            now r = read_now(client_.socket(), cin_, got);
            if (r == now::none_yet) r = co_await linger();
            parking_ = r == now::none_yet;
            if (r != now::bytes) co_return;  // closed, idle too long, or parking
          } else {
            // The first request is usually there already, and asio reads at once.
            const io_end e = co_await read_more(client_, cin_, first ? head_ms : keep_alive_ms());
            if (e != io_end::ok) co_return;  // closed or idle too long: nothing to answer
          }
        }
        ++requests_;
        request_start_ = clock::now();
        begin_record();
        const auto head_deadline =
            head_ms != 0 ? request_start_ + milliseconds(head_ms) : clock::time_point::max();
        http::parse_result pr;
        for (;;) {
          pr = http::parse_request(cin_, ctx_.limits, req_);
          if (pr.status == http::parse_status::complete) break;
          if (pr.status == http::parse_status::error) {
            rec_.request_line = "<BADREQ>";
            request_error_ = true;
            if (!co_await send_error(pr.http_status, 'P', 'R')) co_return;
            goto next_request;
          }
          arm_until(head_deadline);
          io_end e = co_await read_more(client_, cin_, 0, true);
          if (e == io_end::timeout) {
            rec_.request_line = "<BADREQ>";
            request_error_ = true;
            if (!co_await send_error(408, 'c', 'R')) co_return;
            goto next_request;
          }
          if (e != io_end::ok) {
            rec_.request_line = "<BADREQ>";
            terminate('C', 'R');
            rec_.status = 400;
            finish_record();
            co_return;
          }
        }
        req_len_ = cin_.size();
        bytes_in_ = pr.consumed;
        cin_.erase(0, pr.consumed);
        rec_.t_request = since(request_start_);
        rec_.request_line.append(req_.method).append(" ").append(req_.target);
        rec_.request_line.append(req_.version_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");

        // Frontend rules, backend choice, backend rules.
        route::txn t = make_txn();
        route::reply reply;
        const proxy_rules& fr = *fe_.rules;
        if (fr.request.apply(req_, t, reply) == route::rule_outcome::reply ||
            fr.legacy_request.apply(req_, t, reply) == route::rule_outcome::reply) {
          if (!co_await send_reply(reply)) co_return;
          goto next_request;
        }
        backend_ = choose_backend(fe_, *ctx_.px, t);
        if (backend_ != nullptr) count::add(backend_->counters, &stats::counter_block::sessions);
        if (backend_ == nullptr) {
          if (!co_await send_error(503, 'S', 'C')) co_return;
          goto next_request;
        }
        rec_.backend = backend_->cfg->name();
        t.backend_name = backend_->cfg->name();
        const proxy_rules& br = *backend_->rules;
        if (br.request.apply(req_, t, reply) == route::rule_outcome::reply ||
            br.legacy_request.apply(req_, t, reply) == route::rule_outcome::reply) {
          if (!co_await send_reply(reply)) co_return;
          goto next_request;
        }
        add_forwarded_for();
        const bool expect_continue = req_.expect_continue;
        prepare_upstream_request();

        // A server, its connection, the request.
        connect_options opt;
        opt.client_port = dst_.port;
        opt.txn = &t;
        opt.hash_key = hash_key();
        // A request may be sent again when the server closed or reset the connection before
        // answering anything: always on a reused idle connection (the server may have closed
        // it just as it was taken), and for a fresh one when the request is bodyless and
        // idempotent (RFC 9110 9.2.2), up to `retries` times; redispatched with `option
        // redispatch`. HAProxy answers 502 there unless `retry-on` says otherwise.
        const bool bodyless = req_.body == http::body_kind::none;
        const bool idempotent = bodyless && (req_.method == "GET" || req_.method == "HEAD" ||
                                             req_.method == "OPTIONS" || req_.method == "TRACE");
        opt.resendable = bodyless;  // a reused connection that fails is resent at once
        uint32_t resends = 0;
        for (int round = 0;; ++round) {
          opt.pool = round == 0 && reuse_allowed() ? &ctx_.pool : nullptr;
          connect_result cr = co_await connect_upstream(*backend_, server_sock_, opt);
          rec_.t_queue = static_cast<int64_t>(cr.queue_ms);
          rec_.retries = resends + (cr.attempts > 1 ? cr.attempts - 1 : 0);
          if (cr.status != connect_status::connected) {
            count::add(backend_->counters, &stats::counter_block::connection_attempts, cr.attempts);
            if (cr.status == connect_status::queue_timeout) {
              if (!co_await send_error(503, 's', 'Q')) co_return;
              goto next_request;
            }
            if (!co_await send_error(503, cr.status == connect_status::no_server ? 'S' : 's', 'C'))
              co_return;
            goto next_request;
          }
          server_ = cr.server;
          counted_server_ = &backend_->servers[cr.server];
          count::add(counted_server_->counters, &stats::counter_block::sessions);
          queue_us_ = static_cast<int64_t>(cr.queue_us);
          connect_us_ = static_cast<int64_t>(cr.connect_us);
          {
            using B = stats::counter_block;
            const uint64_t failed = cr.attempts > 1 ? cr.attempts - 1 : 0;
            for (stats::counter_block* b : {backend_->counters, counted_server_->counters}) {
              count::add(b, &B::connection_attempts, cr.attempts);
              count::add(b, &B::connection_errors, failed);
              if (cr.reused) count::add(b, &B::connection_reuses);
            }
          }
          backend_->servers[cr.server].attach(this);
          rec_.server = backend_->servers[cr.server].cfg->name();
          rec_.t_connect = static_cast<int64_t>(cr.connect_ms);
          t.server_name = rec_.server;
          const bool may_resend = bodyless && ((cr.reused && round == 0) ||
                                               (idempotent && resends < backend_->cfg->retries()));
          auto resend = [&] {
            if (!cr.reused) backend_->servers[*server_].observed(false, false);
            if (backend_->cfg->options().redispatch()) {
              opt.exclude = *server_;
              count::add(backend_->counters, &stats::counter_block::redispatches);
            }
            if (!cr.reused) ++resends;
            count::add(counted_server_->counters, &stats::counter_block::sessions_ended);
            counted_server_ = nullptr;
            release_server(false);
          };

          // A request with a body sends its head with the first body bytes, unless the
          // client waits for 100 Continue before sending them.
          const bool head_with_body = !bodyless && !expect_continue;
          if (!head_with_body &&
              co_await write_all(server_sock(), upstream_head_, server_ms()) != io_end::ok) {
            if (may_resend) {
              resend();
              continue;
            }
            if (!co_await send_error(502, 'S', 'H')) co_return;
            goto next_request;
          }
          if (expect_continue) {
            static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
            if (co_await write_all(client_, go_on, client_ms()) != io_end::ok) {
              terminate('C', 'D');
              co_return;
            }
          }
          uint64_t sent = 0;
          body_end be = co_await forward_body(
              client_, cin_, server_sock(), req_.body, req_.content_length, client_ms(),
              server_ms(), sent,
              head_with_body ? std::string_view(upstream_head_) : std::string_view());
          bytes_in_ += sent;
          if (be != body_end::ok) {
            switch (be) {
              case body_end::bad:
                if (!co_await send_error(400, 'P', 'D')) co_return;
                goto next_request;
              case body_end::read_timeout:
                if (!co_await send_error(408, 'c', 'D')) co_return;
                goto next_request;
              case body_end::write_error:
                if (!co_await send_error(502, 'S', 'D')) co_return;
                goto next_request;
              default:
                terminate('C', 'D');
                release_server(false);
                finish_record();
                co_return;
            }
          }
          bool retry = false;
          unsigned status = co_await read_response_head(may_resend, retry);
          if (retry) {
            resend();
            continue;
          }
          if (status != 0) {
            backend_->servers[*server_].observed(false, false);
            if (!co_await send_error(status, 'S', 'H')) co_return;
            goto next_request;
          }
          // HAProxy's layer-7 verdict: a 5xx other than 501/505 is the server's fault.
          const unsigned st = res_.status;
          backend_->servers[*server_].observed(st < 500 || st == 501 || st == 505 || st > 599,
                                               true);
          break;
        }

        // Response rules: the backend's, then the frontend's.
        t.res = &res_;
        if (br.response.apply(res_, t, reply) == route::rule_outcome::reply ||
            br.legacy_response.apply(res_, t, reply) == route::rule_outcome::reply ||
            fr.response.apply(res_, t, reply) == route::rule_outcome::reply ||
            fr.legacy_response.apply(res_, t, reply) == route::rule_outcome::reply) {
          release_server(false);
          if (!co_await send_reply(reply)) co_return;
          goto next_request;
        }

        const bool upgrade = res_.status == 101 && req_.upgrade;
        bool keep = req_.keep_alive && !req_.close_after && !res_.close_after &&
                    res_.body != http::body_kind::until_close && !fe_.sessions->draining() &&
                    fe_.cfg->options().conn_mode() != pb::CONN_CLOSE &&
                    backend_->cfg->options().conn_mode() != pb::CONN_CLOSE && !upgrade;
        prepare_downstream_response(keep);
        rec_.status = static_cast<int>(res_.status);
        if (upgrade) {
          if (co_await write_all(client_, downstream_head_, client_ms()) != io_end::ok) {
            terminate('C', 'D');
            release_server(false);
            finish_record();
            co_return;
          }
          rec_.bytes += downstream_head_.size();
          co_await tunnel();
          finish_record();
          co_return;
        }
        // The head leaves with the body bytes already here: one write for a small response.
        uint64_t moved = 0;
        body_end be =
            co_await forward_body(server_sock(), sin_, client_, res_.body, res_.content_length,
                                  server_ms(), client_ms(), moved, downstream_head_);
        rec_.bytes += moved + (be != body_end::write_error ? downstream_head_.size() : 0);
        if (be != body_end::ok) {
          // Headers are already with the client: all that is left is to cut the connection.
          switch (be) {
            case body_end::write_error: terminate('C', 'D'); break;
            case body_end::read_timeout: terminate('s', 'D'); break;
            default: terminate('S', 'D'); break;
          }
          release_server(false);
          finish_record();
          co_return;
        }
        release_server(res_.keep_alive && !res_.close_after && sin_.empty() &&
                       res_.body != http::body_kind::until_close);
        finish_record();
        if (!keep) co_return;
        goto next_request;
      }
    next_request:;
    }
  }

  tls::stream& server_sock() { return server_sock_; }

  void close_all() {
    if (closed_) return;
    closed_ = true;
    client_.close();
    release_server(false);
    deadline_.cancel();
  }

  // Declared first: the members below that live in it refer to it.
  std::unique_ptr<session_scratch> scratch_ = session_scratch::take();
  session_ticket ticket_;
  connection_count counted_;
  tls::stream client_;
  const tls::server_context* tls_;  // null on a plain bind
  route::tls_facts tls_facts_;
  tls::stream server_sock_;
  frontend_runtime& fe_;
  worker_context& ctx_;
  asio::steady_timer deadline_;
  clock::time_point deadline_at_ = clock::time_point::max();  // what the timer stands for
  bool timed_out_ = false;
  bool closed_ = false;
  const tls::stream* failed_read_ = nullptr;  // a read error found by gather(), not reported yet
  bool parking_ = false;            // serve() returned to wait for the next request in idle_clients
  clock::time_point parked_since_;  // when the client went quiet (its keep-alive counts from it)
  int tunnel_closed_ = 0;
  std::string& cin_ = scratch_->cin;  // bytes from the client not yet consumed
  std::string& sin_ = scratch_->sin;  // bytes from the server not yet consumed
  std::string& upstream_head_ = scratch_->upstream_head;
  std::string& downstream_head_ = scratch_->downstream_head;
  http::request& req_ = scratch_->req;
  http::response& res_ = scratch_->res;
  backend_runtime* backend_ = nullptr;
  std::optional<size_t> server_;
  route::peer src_, dst_;
  uint64_t req_len_ = 0;
  uint64_t requests_ = 0;
  bool in_idle_set_ = false;  // see client_connection
  // For the counters of the transaction in flight.
  server_runtime* counted_server_ = nullptr;
  int64_t queue_us_ = -1, connect_us_ = -1, response_us_ = -1;
  bool denied_ = false;
  bool request_error_ = false;
  uint64_t bytes_in_ = 0;
  clock::time_point request_start_ = clock::now();
  log_record& rec_ = scratch_->rec;
};

}  // namespace

void start_http_session(tcp::socket client, const conn_ends& ends, frontend_runtime& fe,
                        const tls::server_context* tls) {
  const route::peer dst = ends.local(client);
  http_session::start(
      {std::move(client), session_ticket(*fe.sessions), connection_count(fe), ends.src, dst}, fe,
      tls);
}

}  // namespace sluice::worker
