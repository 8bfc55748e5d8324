#include "worker/upstream/pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace sluice::worker {

namespace {

// An idle connection is alive when reading would block: EOF, data or an error all mean
// the server is no longer waiting for our next request.
bool still_idle(tcp::socket& s) {
  char byte;
  ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

void server_pool::put(const void* server, tls::stream conn) {
  auto& list = idle_[server];
  if (list.size() >= max_idle_per_server) {
    list.front().conn.close();
    list.erase(list.begin());
  }
  list.push_back({std::move(conn), std::chrono::steady_clock::now()});
}

std::optional<tls::stream> server_pool::take(const void* server) {
  auto it = idle_.find(server);
  if (it == idle_.end()) return std::nullopt;
  auto& list = it->second;
  const auto now = std::chrono::steady_clock::now();
  // Most recently used first: it is the least likely to have been closed by the server.
  while (!list.empty()) {
    entry e = std::move(list.back());
    list.pop_back();
    if (now - e.since < purge_delay && still_idle(e.conn.socket())) return std::move(e.conn);
    e.conn.close();
  }
  return std::nullopt;
}

}  // namespace sluice::worker
