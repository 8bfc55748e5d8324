#pragma once
// Access logs in HAProxy's `option httplog` / `option tcplog` formats, sent to the
// proxy's `log` targets (or the global ones with `log global`) without blocking the event
// loop: UDP and Unix datagrams are sent non-blocking and dropped when the socket is full
// (as syslog over UDP does); stdout/stderr are written directly.

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/config.pb.h"
#include "worker/route/txn.h"

namespace sluice::worker {

struct log_record {
  route::peer client;
  std::chrono::system_clock::time_point accepted;  // %tr: when the request began
  std::string_view frontend, backend, server;      // "<NOSRV>" when none
  // Timers in milliseconds, -1 when the phase was not reached.
  int64_t t_request = -1;                     // %TR
  int64_t t_queue = -1;                       // %Tw
  int64_t t_connect = -1;                     // %Tc
  int64_t t_response = -1;                    // %Tr
  int64_t t_active = 0;                       // %Ta (HTTP) / %Tt (TCP)
  int status = -1;                            // %ST
  uint64_t bytes = 0;                         // %B
  std::array<char, 2> termination{'-', '-'};  // %ts: cause, phase
  uint32_t actconn = 0, feconn = 0, beconn = 0, srvconn = 0, retries = 0;
  bool redispatched = false;
  uint32_t srv_queue = 0, backend_queue = 0;
  std::string request_line;  // %r, quoted on output
  bool http = true;
  const route::tls_facts* tls = nullptr;  // the client connection's TLS, null when plain
};

class access_log {
 public:
  explicit access_log(const sluice::config::Config& cfg);
  ~access_log();
  access_log(const access_log&) = delete;
  access_log& operator=(const access_log&) = delete;

  // Logs `r` for frontend `index` (in Config.frontends) to its targets, if it has any.
  void emit(size_t index, const log_record& r);

  // The line without the syslog header.
  static void append_http(const log_record& r, std::string& out);
  // `option httpslog`: the HTTP line, then the TLS fields.
  static void append_https(const log_record& r, std::string& out);
  static void append_tcp(const log_record& r, std::string& out);

 private:
  struct sink {
    const sluice::config::LogTarget* target;
    int fd = -1;
  };
  void send(const sink& s, std::string_view line, int severity);
  std::vector<sink> sinks_;
  // For each frontend (by index), the sinks it writes to.
  std::vector<std::vector<size_t>> by_frontend_;
  const sluice::config::Config& cfg_;
};

}  // namespace sluice::worker
