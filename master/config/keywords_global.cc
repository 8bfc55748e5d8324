// Keywords of the `global` section.
#include <array>

#include "master/config/address.h"
#include "master/config/keywords.h"
#include "master/config/keywords_tls.h"
#include "master/config/units.h"

namespace sluice::master::config {

namespace {

using sluice::config::LogTarget;

constexpr std::array<std::string_view, 24> facilities = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "auth2",  "ftp",    "ntp",    "audit",  "alert",  "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
constexpr std::array<std::string_view, 8> levels = {"emerg",   "alert",  "crit", "err",
                                                    "warning", "notice", "info", "debug"};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view w) {
  for (auto s : set) {
    if (s == w) return true;
  }
  return false;
}

bool uint_arg(const line_context& ctx, size_t i, int64_t min, int64_t max, uint32_t& out) {
  auto v = parse_int(ctx.words[i], min, max);
  if (!v) {
    ctx.error("'" + ctx.keyword(i) + "': " + v.error);
    return false;
  }
  out = static_cast<uint32_t>(v.value);
  return true;
}

void kw_workers(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<number of worker processes>")) return;
  uint32_t n = 0;
  if (uint_arg(ctx, 1, 1, 256, n)) ctx.st.global.set_workers(n);
}

void kw_maxconn(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<number>")) return;
  uint32_t n = 0;
  if (uint_arg(ctx, 1, 1, 100'000'000, n)) ctx.st.global.set_maxconn(n);
}

void kw_pidfile(const line_context& ctx) {
  if (ctx.expect_args(1, 1, 1, "<path>")) ctx.st.global.set_pidfile(ctx.words[1]);
}

// stats socket PATH [mode M] [level L] [expose-fd listeners] | stats timeout T | stats maxconn N
void kw_stats(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() < 2) {
    ctx.error("'stats' expects 'socket', 'timeout' or 'maxconn'");
    return;
  }
  if (w[1] == "timeout") {
    if (!ctx.expect_args(2, 1, 1, "<time>")) return;
    if (auto t = parse_time_ms(w[2]); !t) ctx.error("'stats timeout': " + t.error);
    return;
  }
  if (w[1] == "maxconn") {
    uint32_t n = 0;
    if (ctx.expect_args(2, 1, 1, "<number>")) uint_arg(ctx, 2, 1, 100000, n);
    return;
  }
  if (w[1] != "socket") {
    ctx.error("'stats " + w[1] +
              "' is not supported by sluice in 'global' (expected 'socket', "
              "'timeout' or 'maxconn')");
    return;
  }
  if (w.size() < 3) {
    ctx.error("'stats socket' expects a path");
    return;
  }
  sluice::config::StatsSocket s;
  std::string path = w[2];
  if (path.starts_with("unix@")) path = path.substr(5);
  if (path.empty() || path[0] != '/') {
    ctx.error("'stats socket' needs an absolute Unix socket path (got '" + w[2] +
              "'); TCP stats sockets are not supported by sluice");
    return;
  }
  s.set_path(path);
  s.set_mode(0600);
  s.set_level("admin");
  *s.mutable_origin() = ctx.origin();
  for (size_t i = 3; i < w.size(); ++i) {
    if (w[i] == "mode" && i + 1 < w.size()) {
      auto v = parse_int(w[i + 1], 0, 0777);
      // Modes are octal, as chmod(1).
      bool octal = w[i + 1].find_first_not_of("01234567") == std::string::npos;
      if (!octal || w[i + 1].size() > 4) {
        ctx.error("'stats socket ... mode' expects an octal mode such as 600, got '" + w[i + 1] +
                  "'");
      } else {
        s.set_mode(static_cast<uint32_t>(std::stoul(w[i + 1], nullptr, 8)));
      }
      (void)v;
      ++i;
    } else if (w[i] == "level" && i + 1 < w.size()) {
      if (w[i + 1] != "user" && w[i + 1] != "operator" && w[i + 1] != "admin") {
        ctx.error("'stats socket ... level' expects user, operator or admin, got '" + w[i + 1] +
                  "'");
      }
      s.set_level(w[i + 1]);
      ++i;
    } else if (w[i] == "expose-fd" && i + 1 < w.size()) {
      // Sluice's master keeps the listeners itself; nothing to expose.
      ++i;
    } else if ((w[i] == "user" || w[i] == "group" || w[i] == "uid" || w[i] == "gid") &&
               i + 1 < w.size()) {
      ctx.warning("'stats socket ... " + w[i] + "' is accepted but not applied by sluice yet");
      ++i;
    } else {
      ctx.error("unknown 'stats socket' option '" + w[i] + "' (supported: mode, level, expose-fd)");
    }
  }
  *ctx.st.global.add_stats_sockets() = std::move(s);
}

void kw_hard_stop_after(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<time>")) return;
  auto t = parse_time_ms(ctx.words[1]);
  if (!t) {
    ctx.error("'hard-stop-after': " + t.error);
    return;
  }
  ctx.st.global.set_hard_stop_after_ms(t.value);
}

void kw_log(const line_context& ctx) {
  LogTarget t;
  if (ctx.words.size() == 2 && ctx.words[1] == "global") {
    ctx.error("'log global' is only meaningful in a proxy section");
    return;
  }
  if (parse_log_target(ctx, t)) *ctx.st.global.add_logs() = std::move(t);
}

void kw_user(const line_context& ctx) {
  if (ctx.expect_args(1, 1, 1, "<user name>")) ctx.st.global.set_user(ctx.words[1]);
}

void kw_group(const line_context& ctx) {
  if (ctx.expect_args(1, 1, 1, "<group name>")) ctx.st.global.set_group(ctx.words[1]);
}

void kw_uid(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<uid>") && uint_arg(ctx, 1, 0, 4294967294, n)) {
    ctx.st.global.set_user(ctx.words[1]);
  }
}

void kw_gid(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<gid>") && uint_arg(ctx, 1, 0, 4294967294, n)) {
    ctx.st.global.set_group(ctx.words[1]);
  }
}

void kw_daemon(const line_context& ctx) {
  if (ctx.expect_args(1, 0, 0, "")) ctx.st.global.set_daemon(true);
}

void kw_master_worker(const line_context& ctx) {
  ctx.expect_args(1, 0, 1, "[no-exit-on-failure]");
}

void kw_nbthread(const line_context& ctx) {
  uint32_t n = 0;
  if (!ctx.expect_args(1, 1, 1, "<number>") || !uint_arg(ctx, 1, 1, 4096, n)) return;
  ctx.warning(
      "'nbthread' is ignored: sluice runs single-threaded worker processes and scales "
      "with 'workers N' (one per CPU by default)");
}

void kw_chroot(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<directory>")) return;
  ctx.warning("'chroot' is accepted but not applied by sluice yet: processes are not chrooted");
}

void kw_ulimit_n(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>")) uint_arg(ctx, 1, 1, 100'000'000, n);
}

void kw_bufsize(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<size>")) return;
  auto s = parse_size(ctx.words[1]);
  if (!s) {
    ctx.error("'tune.bufsize': " + s.error);
  } else if (s.value < 1024 || s.value > 1024 * 1024) {
    ctx.error("'tune.bufsize' must be between 1024 and 1048576 bytes, got " +
              std::to_string(s.value));
  } else {
    ctx.st.global.set_bufsize(static_cast<uint32_t>(s.value));
  }
}

void kw_maxrewrite(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<size>")) return;
  auto s = parse_size(ctx.words[1]);
  if (!s) {
    ctx.error("'tune.maxrewrite': " + s.error);
  } else {
    ctx.st.global.set_maxrewrite(static_cast<uint32_t>(s.value));
  }
}

void kw_maxhdr(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>") && uint_arg(ctx, 1, 1, 32767, n)) {
    ctx.st.global.set_http_maxhdr(n);
  }
}

void kw_spread_checks(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<0..50 percent>") && uint_arg(ctx, 1, 0, 50, n)) {
    ctx.st.global.set_spread_checks(n);
  }
}

void kw_metrics_prefix(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<prefix>")) return;
  const std::string& p = ctx.words[1];
  bool ok = !p.empty() && !(p[0] >= '0' && p[0] <= '9');
  for (char c : p) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (!ok) {
    ctx.error("'metrics-prefix' must be a Prometheus name ([a-zA-Z_][a-zA-Z0-9_]*), got '" + p +
              "'");
    return;
  }
  ctx.st.global.set_metrics_prefix(p);
}

void kw_node(const line_context& ctx) {
  if (ctx.expect_args(1, 1, 1, "<name>")) ctx.st.global.set_node(ctx.words[1]);
}

void kw_description(const line_context& ctx) {
  ctx.expect_args(1, 1, SIZE_MAX, "<text>");
}

void kw_quiet(const line_context& ctx) {
  ctx.expect_args(1, 0, 0, "");
}

constexpr keyword table[] = {
    {"workers", in_global, kw_workers},
    {"maxconn", in_global, kw_maxconn},
    {"pidfile", in_global, kw_pidfile},
    {"stats", in_global, kw_stats},
    {"hard-stop-after", in_global, kw_hard_stop_after},
    {"log", in_global, kw_log},
    {"user", in_global, kw_user},
    {"group", in_global, kw_group},
    {"uid", in_global, kw_uid},
    {"gid", in_global, kw_gid},
    {"daemon", in_global, kw_daemon},
    {"master-worker", in_global, kw_master_worker},
    {"nbthread", in_global, kw_nbthread},
    {"chroot", in_global, kw_chroot},
    {"ulimit-n", in_global, kw_ulimit_n},
    {"tune.bufsize", in_global, kw_bufsize},
    {"tune.maxrewrite", in_global, kw_maxrewrite},
    {"tune.http.maxhdr", in_global, kw_maxhdr},
    {"spread-checks", in_global, kw_spread_checks},
    {"metrics-prefix", in_global, kw_metrics_prefix},
    {"node", in_global, kw_node},
    {"description", in_global, kw_description},
    {"quiet", in_global, kw_quiet},
};

}  // namespace

std::span<const keyword> global_keywords() {
  static const std::vector<keyword> all = [] {
    std::vector<keyword> v(std::begin(table), std::end(table));
    auto tls = tls_global_keywords();
    v.insert(v.end(), tls.begin(), tls.end());
    return v;
  }();
  return all;
}

bool parse_log_target(const line_context& ctx, LogTarget& t) {
  const auto& w = ctx.words;
  if (w.size() < 3) {
    ctx.error(
        "'log' expects a target and a facility (e.g. 'log 127.0.0.1:514 local0', "
        "'log stdout format raw local0', 'log /dev/log local0')");
    return false;
  }
  std::string target = w[1];
  if (target == "stdout" || target == "fd@1") {
    t.set_kind(LogTarget::KIND_STDOUT);
  } else if (target == "stderr" || target == "fd@2") {
    t.set_kind(LogTarget::KIND_STDERR);
  } else if (target.starts_with("/") || target.starts_with("unix@")) {
    t.set_kind(LogTarget::KIND_UNIX);
    t.set_address(target.starts_with("unix@") ? target.substr(5) : target);
  } else {
    std::string addr = target;
    if (addr.starts_with("udp@")) addr = addr.substr(4);
    if (addr.starts_with("udp4@") || addr.starts_with("udp6@")) addr = addr.substr(5);
    auto e = parse_server_endpoint(addr);
    if (!e || !e.value.unix_path.empty() || !e.value.numeric) {
      ctx.error("invalid log target '" + target +
                "' (expected stdout, stderr, a Unix socket path, or IP[:PORT] for UDP syslog)");
      return false;
    }
    t.set_kind(LogTarget::KIND_UDP);
    t.set_address(e.value.host);
    t.set_port(e.value.has_port ? e.value.port_first : 514);
  }
  size_t i = 2;
  while (i + 1 < w.size()) {
    if (w[i] == "len") {
      auto v = parse_int(w[i + 1], 80, 65535);
      if (!v) {
        ctx.error("'log ... len': " + v.error);
        return false;
      }
      t.set_max_length(static_cast<uint32_t>(v.value));
    } else if (w[i] == "format") {
      const std::string& f = w[i + 1];
      if (f == "raw") {
        t.set_format(LogTarget::FORMAT_RAW);
      } else if (f == "rfc3164") {
        t.set_format(LogTarget::FORMAT_RFC3164);
      } else if (f == "rfc5424") {
        t.set_format(LogTarget::FORMAT_RFC5424);
      } else if (f == "short") {
        t.set_format(LogTarget::FORMAT_SHORT);
      } else {
        ctx.error("'log ... format' expects raw, rfc3164, rfc5424 or short, got '" + f + "'");
        return false;
      }
    } else if (w[i] == "sample") {
      ctx.error("'log ... sample' is not supported by sluice");
      return false;
    } else {
      break;
    }
    i += 2;
  }
  if (i >= w.size()) {
    ctx.error("'log " + target + "' is missing its facility (e.g. local0)");
    return false;
  }
  if (!one_of(facilities, w[i])) {
    ctx.error("unknown log facility '" + w[i] +
              "' (expected one of kern, user, daemon, ..., "
              "local0..local7)");
    return false;
  }
  t.set_facility(w[i++]);
  if (i < w.size()) {
    if (!one_of(levels, w[i])) {
      ctx.error("unknown log level '" + w[i] +
                "' (expected emerg, alert, crit, err, warning, notice, info or debug)");
      return false;
    }
    t.set_max_level(w[i++]);
  }
  if (i < w.size()) {
    if (!one_of(levels, w[i])) {
      ctx.error("unknown log level '" + w[i] + "'");
      return false;
    }
    t.set_min_level(w[i++]);
  }
  if (i < w.size()) {
    ctx.error("unexpected '" + w[i] + "' at the end of 'log'");
    return false;
  }
  return true;
}

}  // namespace sluice::master::config
