#include "worker/log/access_log.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <ctime>

#include "worker/route/sample.h"

namespace sluice::worker {

namespace pb = sluice::config;

namespace {

using route::append_ip;

constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// %tr: 06/Feb/2009:12:14:14.655, local time.
void append_date(std::chrono::system_clock::time_point t, std::string& out) {
  auto since = t.time_since_epoch();
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since).count();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%02d/%s/%04d:%02d:%02d:%02d.%03d", tm.tm_mday, months[tm.tm_mon],
                tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

void append_connections(const log_record& r, std::string& out) {
  out += std::to_string(r.actconn) + "/" + std::to_string(r.feconn) + "/" +
         std::to_string(r.beconn) + "/" + std::to_string(r.srvconn) + "/";
  if (r.redispatched) out += '+';
  out += std::to_string(r.retries);
  out += " " + std::to_string(r.srv_queue) + "/" + std::to_string(r.backend_queue);
}

// %{+Q}r: the request line in double quotes, with quotes and control bytes escaped as
// HAProxy does (#XX), so a log parser can always find the end of the field.
void append_quoted(std::string_view s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    if (c < 0x20 || c == '"' || c == '#' || c >= 0x7f) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "#%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

int facility_code(const std::string& f) {
  static constexpr const char* names[] = {
      "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
      "uucp",   "cron",   "auth2",  "ftp",    "ntp",    "audit",  "alert",  "cron2",
      "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
  for (int i = 0; i < 24; ++i) {
    if (f == names[i]) return i;
  }
  return 16;
}

// The fields every format starts with: client, date, frontend, backend/server.
void append_who(const log_record& r, std::string& out) {
  append_ip(r.client, out);
  out += ':' + std::to_string(r.client.port) + " [";
  append_date(r.accepted, out);
  out += "] ";
  out += r.frontend;
  if (r.tls != nullptr) out += '~';  // HAProxy's %ft: a TLS connection's frontend
  out += ' ';
  out += r.backend;
  out += '/';
  out += r.server;
}

}  // namespace

void access_log::append_http(const log_record& r, std::string& out) {
  append_who(r, out);
  out += ' ' + std::to_string(r.t_request) + '/' + std::to_string(r.t_queue) + '/' +
         std::to_string(r.t_connect) + '/' + std::to_string(r.t_response) + '/' +
         std::to_string(r.t_active);
  out += ' ' + std::to_string(r.status) + ' ' + std::to_string(r.bytes);
  out += " - - ";
  out += r.termination[0];
  out += r.termination[1];
  out += "-- ";
  append_connections(r, out);
  out += ' ';
  append_quoted(r.request_line, out);
}

// HAProxy's httpslog appends "fc_err/ssl_fc_err/ssl_c_err/ssl_c_ca_err/ssl_fc_is_resumed
// ssl_fc_sni/%sslv/%sslc". Sluice asks for no client certificates and logs no failed
// handshake as a request, so the error fields are 0 over TLS (ssl_fc_err in 16 hex
// digits, as HAProxy writes it); a plain connection has "-" for them.
void access_log::append_https(const log_record& r, std::string& out) {
  append_http(r, out);
  if (r.tls == nullptr) {
    out += " 0/-/-/-/0 -/-/-";
    return;
  }
  out += " 0/0000000000000000/0/0/";
  out += r.tls->resumed ? '1' : '0';
  out += ' ';
  out += r.tls->sni.empty() ? std::string_view("-") : r.tls->sni;
  out += '/';
  out += r.tls->protocol;
  out += '/';
  out += r.tls->cipher;
}

void access_log::append_tcp(const log_record& r, std::string& out) {
  append_who(r, out);
  out += ' ' + std::to_string(r.t_queue) + '/' + std::to_string(r.t_connect) + '/' +
         std::to_string(r.t_active);
  out += ' ' + std::to_string(r.bytes) + ' ';
  out += r.termination[0];
  out += r.termination[1];
  out += ' ';
  append_connections(r, out);
}

access_log::access_log(const pb::Config& cfg) : cfg_(cfg) {
  auto open_sink = [&](const pb::LogTarget& t) -> size_t {
    for (size_t i = 0; i < sinks_.size(); ++i) {
      if (sinks_[i].target == &t) return i;
    }
    sink s{&t, -1};
    switch (t.kind()) {
      case pb::LogTarget::KIND_STDOUT:
      case pb::LogTarget::KIND_STDERR: {
        // A description of our own, non-blocking, so a stalled reader (a full pipe) makes
        // the worker drop log lines rather than stop serving; the master's own writes to
        // the inherited descriptor stay as they were. O_APPEND keeps a file's lines whole.
        int std_fd = t.kind() == pb::LogTarget::KIND_STDOUT ? 1 : 2;
        std::string path = "/proc/self/fd/" + std::to_string(std_fd);
        s.fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_NONBLOCK | O_CLOEXEC);
        if (s.fd < 0) s.fd = std_fd;
        break;
      }
      case pb::LogTarget::KIND_UDP: {
        addrinfo hints{};
        hints.ai_socktype = SOCK_DGRAM;
        addrinfo* res = nullptr;
        std::string port = std::to_string(t.port() != 0 ? t.port() : 514);
        if (::getaddrinfo(t.address().c_str(), port.c_str(), &hints, &res) == 0 && res) {
          int fd = ::socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
            s.fd = fd;
          } else if (fd >= 0) {
            ::close(fd);
          }
          ::freeaddrinfo(res);
        }
        break;
      }
      case pb::LogTarget::KIND_UNIX: {
        int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, t.address().c_str(), sizeof sa.sun_path - 1);
        if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
          s.fd = fd;
        } else if (fd >= 0) {
          ::close(fd);
        }
        break;
      }
      default: break;
    }
    sinks_.push_back(s);
    return sinks_.size() - 1;
  };
  for (const auto& fe : cfg.frontends()) {
    std::vector<size_t> mine;
    for (const auto& t : fe.logs()) mine.push_back(open_sink(t));
    if (fe.log_global()) {
      for (const auto& t : cfg.global().logs()) mine.push_back(open_sink(t));
    }
    by_frontend_.push_back(std::move(mine));
  }
}

access_log::~access_log() {
  for (const auto& s : sinks_) {
    if (s.fd > 2) ::close(s.fd);
  }
}

void access_log::emit(size_t i, const log_record& r) {
  if (i >= by_frontend_.size() || by_frontend_[i].empty()) return;
  const pb::Frontend& fe = cfg_.frontends(static_cast<int>(i));
  // One worker thread: the line's buffer is kept between requests.
  thread_local std::string line;
  line.clear();
  if (r.http && fe.options().httpslog()) {
    append_https(r, line);
  } else if (r.http && fe.options().httplog()) {
    append_http(r, line);
  } else if (!r.http || fe.options().tcplog()) {
    append_tcp(r, line);
  } else {
    // Without a log option HAProxy logs only the connection: client, frontend.
    append_who(r, line);
  }
  // 6 = info; HAProxy logs errors (5xx, aborts) at the same level unless told otherwise.
  for (size_t k : by_frontend_[i]) send(sinks_[k], line, 6);
}

void access_log::send(const sink& s, std::string_view line, int severity) {
  if (s.fd < 0) return;
  const pb::LogTarget& t = *s.target;
  thread_local std::string msg;
  msg.clear();
  if (t.kind() == pb::LogTarget::KIND_STDOUT || t.kind() == pb::LogTarget::KIND_STDERR ||
      t.format() == pb::LogTarget::FORMAT_RAW) {
    msg.assign(line);
    msg += '\n';
    // A full pipe drops the line (EAGAIN), as a full syslog socket does.
    ssize_t n = ::write(s.fd, msg.data(), msg.size());
    (void)n;
    return;
  }
  int pri = facility_code(t.facility()) * 8 + severity;
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  char head[64];
  std::snprintf(head, sizeof head, "<%d>%s %2d %02d:%02d:%02d ", pri, months[tm.tm_mon], tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  msg = head;
  msg += "sluice[" + std::to_string(::getpid()) + "]: ";
  msg += line;
  size_t max = t.max_length() != 0 ? t.max_length() : 1024;
  if (msg.size() > max) msg.resize(max);
  ssize_t n = ::send(s.fd, msg.data(), msg.size(), MSG_DONTWAIT);
  (void)n;
}

}  // namespace sluice::worker
