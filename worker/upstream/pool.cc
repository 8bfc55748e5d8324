#include "worker/upstream/pool.h"

#include <sys/socket.h>

#include <cerrno>

namespace sluice::worker {

namespace {

// True when reading `s` now would block: no bytes, no EOF, no error. A non-blocking
// MSG_PEEK of one byte, which leaves whatever is there for the next read.
bool nothing_to_read(tcp::socket& s) {
  char byte;
  const ssize_t n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

void server_pool::put(const void* server, tls::stream conn, int64_t max,
                      std::chrono::milliseconds purge_delay) {
  if (max == 0) {
    conn.close();
    return;
  }
  auto& list = idle_[server];
  if (max > 0 && list.size() >= static_cast<size_t>(max)) {
    list.front().conn.close();
    list.erase(list.begin());
  }
  const auto now = clock::now();
  list.push_back({std::move(conn), now, now + purge_delay});
}

std::optional<tls::stream> server_pool::take(const void* server, bool resendable) {
  auto it = idle_.find(server);
  if (it == idle_.end()) return std::nullopt;
  auto& list = it->second;
  const auto now = clock::now();
  // Most recently used first: it is the least likely to have been closed by the server.
  while (!list.empty()) {
    entry e = std::move(list.back());
    list.pop_back();
    // Alive while there is nothing to read: EOF, data or an error all mean the server is
    // no longer waiting for our next request.
    const bool unchecked = resendable && now - e.idle_since < unchecked_idle;
    if (now < e.expires && (unchecked || nothing_to_read(e.conn.socket()))) {
      return std::move(e.conn);
    }
    e.conn.close();
  }
  return std::nullopt;
}

void server_pool::purge() {
  const auto now = clock::now();
  for (auto& [server, list] : idle_) {
    size_t expired = 0;
    while (expired < list.size() && list[expired].expires <= now) {
      list[expired].conn.close();
      ++expired;
    }
    if (expired > 0) list.erase(list.begin(), list.begin() + static_cast<ptrdiff_t>(expired));
  }
}

size_t server_pool::idle() const {
  size_t n = 0;
  for (const auto& [server, list] : idle_) n += list.size();
  return n;
}

}  // namespace sluice::worker
