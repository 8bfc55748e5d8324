#include "worker/proxy/idle_clients.h"

#include <sys/epoll.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include "worker/core/counting.h"
#include "worker/core/proxies.h"
#include "worker/core/socket_impl.h"

namespace sluice::worker {

connection_count::connection_count(frontend_runtime& fe) : fe_(&fe) {
  fe.conns++;
  count::add(fe.counters, &stats::counter_block::sessions);
  count::add(fe.worker->process_counters, &stats::counter_block::sessions);
}

connection_count::~connection_count() {
  if (fe_ == nullptr) return;
  fe_->conns--;
  count::add(fe_->counters, &stats::counter_block::sessions_ended);
  count::add(fe_->worker->process_counters, &stats::counter_block::sessions_ended);
}

namespace {

int new_epoll_set() {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  return fd;
}

}  // namespace

idle_clients::idle_clients(const asio::any_io_executor& ex, frontend_runtime& fe, resume_fn resume)
    : fe_(fe), resume_(resume), set_(ex, new_epoll_set()), timer_(ex) {}

idle_clients::~idle_clients() {
  while (head_ != nullptr) {
    idle_client* c = head_;
    unlink(c);
    close(c);
  }
}

void idle_clients::park(client_connection conn, clock::time_point expires) {
  auto& impl = socket_impl(conn.socket);
  const uint8_t state = impl.state_;
  const bool v6 = impl.protocol_.family() == AF_INET6;
  error_code ec;
  // Out of Asio's reactor (one EPOLL_CTL_DEL); the descriptor is ours until resumed.
  const int fd = conn.socket.release(ec);
  if (ec) return;  // already closed: the counts end with `conn`
  auto* c = new idle_client(fd, state, v6, conn);
  // One-shot: once reported, the descriptor stays in the set, disabled, until it parks
  // again (EPOLL_CTL_MOD) or closes (which takes it out of every set).
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLONESHOT;
  ev.data.ptr = c;
  if (::epoll_ctl(set_.native_handle(), conn.in_idle_set ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
                  &ev) != 0) {
    close(c);
    return;
  }
  link(c, expires);
  watch();
}

void idle_clients::watch() {
  if (watching_ || head_ == nullptr) return;
  watching_ = true;
  set_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const error_code& ec) {
    watching_ = false;
    if (!ec) wake();
  });
}

// The set is read until it has nothing more to report: the worker's loop watches it
// edge-triggered, so it says "readable" again only when a descriptor becomes ready after
// that. It is read 64 events at a time, with the loop's other work in between: ten
// thousand clients closing at once resume a few sessions at a time, each ending before
// the next batch, not ten thousand sessions alive together. A resumed session starts
// before the next event is looked at; nothing it does frees another parked connection
// (only expire() and the destructor do).
void idle_clients::wake() {
  std::array<epoll_event, 64> events;
  const int n =
      ::epoll_wait(set_.native_handle(), events.data(), static_cast<int>(events.size()), 0);
  for (int i = 0; i < n; ++i) {
    auto* c = static_cast<idle_client*>(events[i].data.ptr);
    unlink(c);
    std::unique_ptr<idle_client> owned(c);
    tcp::socket socket(set_.get_executor());
    error_code ec;
    // Back into Asio's reactor (one EPOLL_CTL_ADD), with the state bits it had: the
    // descriptor is non-blocking already and held by no one else.
    socket.assign(c->v6 ? tcp::v6() : tcp::v4(), c->fd, ec);
    if (ec) {
      ::close(c->fd);
      continue;
    }
    socket_impl(socket).state_ = c->socket_state;
    resume_({std::move(socket), std::move(c->ticket), std::move(c->counted), c->src, c->dst,
             c->requests, true},
            fe_);
  }
  if (n == static_cast<int>(events.size())) {
    watching_ = true;  // the posted read stands for the wait
    asio::post(set_.get_executor(), [this] {
      watching_ = false;
      wake();
    });
    return;
  }
  watch();
}

void idle_clients::close(idle_client* c) {
  ::close(c->fd);
  delete c;
}

void idle_clients::link(idle_client* c, clock::time_point expires) {
  c->expires = expires;
  c->prev = tail_;
  c->next = nullptr;
  (tail_ != nullptr ? tail_->next : head_) = c;
  tail_ = c;
  arm();
}

void idle_clients::unlink(idle_client* c) {
  (c->prev != nullptr ? c->prev->next : head_) = c->next;
  (c->next != nullptr ? c->next->prev : tail_) = c->prev;
  c->prev = c->next = nullptr;
}

void idle_clients::arm() {
  if (timer_set_ || head_ == nullptr || head_->expires == clock::time_point::max()) return;
  timer_set_ = true;
  timer_.expires_at(head_->expires);
  timer_.async_wait([this](const error_code& ec) {
    timer_set_ = false;
    if (!ec) expire();
    arm();
  });
}

void idle_clients::expire() {
  const auto now = clock::now();
  while (head_ != nullptr && head_->expires <= now) {
    idle_client* c = head_;
    unlink(c);
    close(c);
  }
}

}  // namespace sluice::worker
