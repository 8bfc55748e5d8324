#include "master/listeners.h"

#include <sys/socket.h>
#include <unistd.h>

namespace sluice::master {

listener_pool::~listener_pool() {
  for (auto& [k, fds] : sockets_) {
    for (int fd : fds) ::close(fd);
  }
}

std::string listener_pool::key(const sluice::worker::listen_spec& spec) {
  return spec.endpoint.address().to_string() + "|" + std::to_string(spec.endpoint.port()) + "|" +
         (spec.bind->v6only() ? "v6only" : "") + (spec.bind->v4v6() ? "v4v6" : "");
}

bool listener_pool::assign(const std::vector<sluice::worker::listen_spec>& specs, uint32_t workers,
                           std::vector<worker_sockets>& out, std::vector<std::string>& errors) {
  out.assign(workers, {});
  for (size_t i = 0; i < specs.size(); ++i) {
    auto& fds = sockets_[key(specs[i])];
    while (fds.size() < workers) {
      std::string error;
      int fd = sluice::worker::open_listen_socket(specs[i], error);
      if (fd < 0) {
        errors.push_back(error);
        return false;
      }
      fds.push_back(fd);
    }
    // A changed backlog applies to a socket that is already listening.
    int backlog =
        specs[i].bind->backlog() != 0 ? static_cast<int>(specs[i].bind->backlog()) : SOMAXCONN;
    for (int fd : fds) ::listen(fd, backlog);
    for (size_t s = 0; s < fds.size(); ++s) out[s % workers].push_back({i, fds[s]});
  }
  return true;
}

void listener_pool::close_unused(const std::vector<sluice::worker::listen_spec>& specs) {
  std::set<std::string> used;
  for (const auto& s : specs) used.insert(key(s));
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (used.count(it->first) != 0) {
      ++it;
      continue;
    }
    for (int fd : it->second) ::close(fd);
    it = sockets_.erase(it);
  }
}

size_t listener_pool::socket_count() const {
  size_t n = 0;
  for (const auto& [k, fds] : sockets_) n += fds.size();
  return n;
}

}  // namespace sluice::master
