#include "worker/proxy/idle_clients.h"

#include "worker/core/counting.h"
#include "worker/core/proxies.h"

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

idle_clients::idle_clients(const asio::any_io_executor& ex, frontend_runtime& fe, resume_fn resume)
    : fe_(fe), resume_(resume), timer_(ex) {}

idle_clients::~idle_clients() {
  for (idle_client* c = head_; c != nullptr; c = c->next) c->list = nullptr;
}

void idle_clients::park(client_connection conn, clock::time_point expires) {
  auto c = std::make_unique<idle_client>(std::move(conn));
  link(c.get(), expires);
  tcp::socket& socket = c->conn.socket;
  // The handler owns the connection: whichever way the wait ends, it ends there.
  socket.async_wait(tcp::socket::wait_read, [c = std::move(c)](const error_code& ec) {
    idle_clients* list = c->list;
    if (list == nullptr) return;  // expired, or the list is gone
    list->unlink(c.get());
    if (!ec) list->resume_(std::move(c->conn), list->fe_);
  });
}

void idle_clients::link(idle_client* c, clock::time_point expires) {
  c->list = this;
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
  c->list = nullptr;
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
    // The pending wait ends with operation_aborted and its handler frees the connection.
    error_code ignored;
    c->conn.socket.close(ignored);
  }
}

}  // namespace sluice::worker
