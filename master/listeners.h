#pragma once
// The master's listening sockets, kept across reloads. A socket is keyed by what cannot
// change on an open socket (address, port, v6only/v4v6); each key has one socket per
// worker slot (SO_REUSEPORT). A reload reuses the sockets of every endpoint it keeps, so
// nothing waiting in an accept queue is ever lost; when there are fewer workers than
// sockets, a worker accepts on several of them rather than a socket being closed.

#include <map>
#include <set>
#include <string>
#include <vector>

#include "worker/core/runtime.h"

namespace sluice::master {

using worker_sockets = std::vector<sluice::worker::inherited_listener>;

class listener_pool {
 public:
  listener_pool() = default;
  listener_pool(const listener_pool&) = delete;
  listener_pool& operator=(const listener_pool&) = delete;
  ~listener_pool();

  // The sockets of each of `workers` slots for `specs`, opening what is missing. False
  // (with reasons) if a socket cannot be opened; sockets opened so far stay pooled.
  bool assign(const std::vector<sluice::worker::listen_spec>& specs, uint32_t workers,
              std::vector<worker_sockets>& out, std::vector<std::string>& errors);

  // Closes the sockets of every key the given specs do not use.
  void close_unused(const std::vector<sluice::worker::listen_spec>& specs);

  size_t socket_count() const;

 private:
  static std::string key(const sluice::worker::listen_spec& spec);
  std::map<std::string, std::vector<int>> sockets_;
};

}  // namespace sluice::master
