#pragma once
// The master's control socket (`stats socket PATH [mode M] [level L]`): a Unix socket that
// answers length-prefixed protobuf requests (proto/control.proto). A malformed or oversized
// message gets an error reply and the connection is closed; it never harms the master.
// Levels: user may show, operator may also set servers, admin may also reload.

#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <string>
#include <vector>

#include "master/supervisor.h"
#include "proto/config.pb.h"
#include "proto/control.pb.h"

namespace sluice::master::control {

class server {
 public:
  server(boost::asio::io_context& io, supervisor& sup);
  ~server();

  // Opens every `stats socket` of the global section. False (with reasons) on failure.
  bool listen(const sluice::config::Global& global, std::vector<std::string>& errors);

  // After a reload: opens the sockets the new config adds, closes those it drops, and
  // applies a changed mode or level to those it keeps. Problems are logged; the sockets
  // that work keep working.
  void reconfigure(const sluice::config::Global& global);

 private:
  enum class level { user, operator_, admin };
  struct listener;

  sluice::worker::awaitable<void> accept_loop(std::shared_ptr<listener> l);
  bool open_one(const sluice::config::StatsSocket& s, std::vector<std::string>& errors);
  sluice::worker::awaitable<void> serve(boost::asio::local::stream_protocol::socket socket,
                                        level lvl);
  sluice::worker::awaitable<sluice::control::Response> handle(const sluice::control::Request& req,
                                                              level lvl);
  sluice::control::Response show_info() const;
  sluice::control::Response show_servers(const std::string& backend) const;
  sluice::control::Response set_server(const sluice::control::SetServer& req);

  boost::asio::io_context& io_;
  supervisor& sup_;
  // Shared with their accept loops, which outlive a listener closed by a reload.
  std::vector<std::shared_ptr<listener>> listeners_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace sluice::master::control
