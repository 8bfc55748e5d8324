#pragma once
// The stats process: serves `http-request use-service prometheus-exporter` frontends on the
// listening sockets the master hands it (no worker gets them), reading the shared counter
// and server tables at scrape time. A scrape never touches the data path: workers only
// ever write their own counter blocks.

#include <memory>
#include <string>
#include <vector>

#include "health/table.h"
#include "proto/config.pb.h"
#include "stats/counters.h"
#include "worker/core/asio.h"
#include "worker/core/runtime.h"

namespace sluice::stats {

class service {
 public:
  service(boost::asio::io_context& io, const sluice::config::Config& cfg,
          const counter_table& counters, const health::table& servers);
  ~service();

  // Adopts the listening sockets (`spec` = index in worker::listen_order()).
  bool start(const std::vector<worker::inherited_listener>& sockets,
             std::vector<std::string>& errors);

  // The response to one request head on frontend `fe` (a complete HTTP/1.1 response).
  std::string answer(const sluice::config::Frontend& fe, const std::string& method,
                     const std::string& target, bool keep_alive) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace sluice::stats
