// Keywords of proxy sections (defaults, frontend, backend, listen) that shape the proxy
// itself: mode, binds, timeouts, options, balancing, backend selection, logging, errors.
#include <array>
#include <filesystem>

#include "master/config/address.h"
#include "master/config/keywords.h"
#include "master/config/keywords_tls.h"
#include "master/config/loader.h"
#include "master/config/suggest.h"
#include "master/config/units.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

bool uint_arg(const line_context& ctx, size_t i, int64_t min, int64_t max, uint32_t& out) {
  auto v = parse_int(ctx.words[i], min, max);
  if (!v) {
    ctx.error("'" + ctx.keyword(i) + "': " + v.error);
    return false;
  }
  out = static_cast<uint32_t>(v.value);
  return true;
}

void kw_mode(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "http|tcp")) return;
  auto& s = ctx.proxy().s;
  if (ctx.words[1] == "http") {
    s.mode = pb::MODE_HTTP;
  } else if (ctx.words[1] == "tcp") {
    s.mode = pb::MODE_TCP;
  } else if (ctx.words[1] == "health" || ctx.words[1] == "log" || ctx.words[1] == "spop") {
    ctx.error("'mode " + ctx.words[1] + "' is not supported by sluice (supported: http, tcp)");
    return;
  } else {
    ctx.error("unknown mode '" + ctx.words[1] + "' (expected http or tcp)");
    return;
  }
  s.mode_set = true;
}

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view w) {
  for (auto s : set) {
    if (s == w) return true;
  }
  return false;
}

// bind ADDR:PORT[,ADDR:PORT...] [options]
void kw_bind(const line_context& ctx) {
  const auto& w = ctx.words;
  ctx.proxy().bind_seen = true;
  if (w.size() < 2) {
    ctx.error(
        "'bind' expects an address (e.g. 'bind :80', 'bind 127.0.0.1:8080', "
        "'bind :::443')");
    return;
  }
  pb::Bind opts;
  *opts.mutable_origin() = ctx.origin();
  start_bind_tls(ctx, opts);
  bool ok = true;
  for (size_t i = 2; i < w.size(); ++i) {
    const std::string& o = w[i];
    auto need_value = [&](const char* what) {
      if (i + 1 >= w.size()) {
        ctx.error("bind option '" + o + "' expects " + what);
        ok = false;
        return false;
      }
      return true;
    };
    if (o == "name") {
      if (need_value("a name")) opts.set_name(w[++i]);
    } else if (o == "interface") {
      if (need_value("an interface name")) opts.set_interface(w[++i]);
    } else if (o == "backlog" || o == "maxconn" || o == "id" || o == "nice") {
      if (!need_value("a number")) continue;
      uint32_t n = 0;
      if (!uint_arg(ctx, ++i, 0, 100'000'000, n)) {
        ok = false;
      } else if (o == "backlog") {
        opts.set_backlog(n);
      } else if (o == "maxconn") {
        opts.set_maxconn(n);
      }
    } else if (o == "defer-accept") {
      opts.set_defer_accept(true);
    } else if (o == "transparent") {
      opts.set_transparent(true);
    } else if (o == "v4v6") {
      opts.set_v4v6(true);
    } else if (o == "v6only") {
      opts.set_v6only(true);
    } else if (o == "accept-proxy") {
      opts.set_accept_proxy(true);
    } else if (o == "tfo") {
    } else if (o == "mode") {
      if (!need_value("an octal mode")) continue;
      const std::string& m = w[++i];
      if (m.empty() || m.size() > 4 || m.find_first_not_of("01234567") != std::string::npos) {
        ctx.error("bind option 'mode' expects an octal mode such as 660, got '" + m + "'");
        ok = false;
      } else {
        opts.set_unix_mode(static_cast<uint32_t>(std::stoul(m, nullptr, 8)));
      }
    } else if (o == "user" || o == "group" || o == "uid" || o == "gid") {
      if (need_value("a value")) ++i;
    } else if (o == "process" || o == "thread") {
      if (need_value("a value")) ++i;
      ctx.warning("bind option '" + o + "' is ignored: sluice workers each accept on every bind");
    } else if (auto t = parse_bind_tls_option(ctx, i, opts); t != tls_option::not_tls) {
      if (t == tls_option::failed) ok = false;
    } else {
      ctx.error("unknown bind option '" + o + "'" +
                did_you_mean(o, {"name", "interface", "backlog", "maxconn", "defer-accept",
                                 "transparent", "v4v6", "v6only", "accept-proxy", "mode", "ssl",
                                 "crt", "alpn", "ciphers", "ciphersuites", "ssl-min-ver",
                                 "ssl-max-ver", "tls-ticket-keys", "strict-sni"}));
      ok = false;
    }
  }
  if (!ok || !finish_bind_tls(ctx, opts)) return;
  // The address list: comma-separated endpoints sharing the options.
  for (std::string_view item : split_list(w[1])) {
    const std::string one(item);
    auto e = parse_bind_endpoint(one);
    if (!e) {
      ctx.error(e.error);
      continue;
    }
    pb::Bind b = opts;
    b.set_raw(one);
    if (!e.value.unix_path.empty()) {
      b.set_unix_path(e.value.unix_path);
    } else {
      b.set_address(e.value.host);
      b.set_port_first(e.value.port_first);
      b.set_port_last(e.value.port_last);
    }
    ctx.proxy().binds.push_back(std::move(b));
  }
}

struct timeout_kind {
  std::string_view name;
  uint64_t (pb::Timeouts::*get)() const;
  void (pb::Timeouts::*set)(uint64_t);
  bool frontend_side;
};

const std::array<timeout_kind, 10> timeouts = {{
    {"connect", &pb::Timeouts::connect_ms, &pb::Timeouts::set_connect_ms, false},
    {"client", &pb::Timeouts::client_ms, &pb::Timeouts::set_client_ms, true},
    {"server", &pb::Timeouts::server_ms, &pb::Timeouts::set_server_ms, false},
    {"http-request", &pb::Timeouts::http_request_ms, &pb::Timeouts::set_http_request_ms, true},
    {"http-keep-alive", &pb::Timeouts::http_keep_alive_ms, &pb::Timeouts::set_http_keep_alive_ms,
     true},
    {"queue", &pb::Timeouts::queue_ms, &pb::Timeouts::set_queue_ms, false},
    {"tunnel", &pb::Timeouts::tunnel_ms, &pb::Timeouts::set_tunnel_ms, false},
    {"check", &pb::Timeouts::check_ms, &pb::Timeouts::set_check_ms, false},
    {"client-fin", &pb::Timeouts::client_fin_ms, &pb::Timeouts::set_client_fin_ms, true},
    {"server-fin", &pb::Timeouts::server_fin_ms, &pb::Timeouts::set_server_fin_ms, false},
}};

void set_timeout(const line_context& ctx, std::string_view which, const std::string& value) {
  for (const auto& t : timeouts) {
    if (t.name != which) continue;
    auto v = parse_time_ms(value);
    if (!v) {
      ctx.error("'timeout " + std::string(which) + "': " + v.error);
      return;
    }
    section k = ctx.proxy().kind;
    if ((t.frontend_side && k == section::backend) ||
        (!t.frontend_side && k == section::frontend)) {
      ctx.warning("'timeout " + std::string(which) + "' has no effect in a " + section_name(k) +
                  " (it applies to the " + (t.frontend_side ? "frontend" : "backend") + " side)");
    }
    (ctx.proxy().s.timeouts.*t.set)(v.value);
    return;
  }
  if (which == "tarpit") {
    ctx.error("'timeout tarpit' is not supported by sluice");
    return;
  }
  std::vector<std::string_view> names;
  for (const auto& t : timeouts) names.push_back(t.name);
  ctx.error("unknown timeout '" + std::string(which) + "'" + did_you_mean(which, names));
}

void kw_timeout(const line_context& ctx) {
  if (ctx.words.size() < 2) {
    ctx.error("'timeout' expects a name and a time (e.g. 'timeout client 30s')");
    return;
  }
  if (!ctx.expect_args(2, 1, 1, "<time>")) return;
  set_timeout(ctx, ctx.words[1], ctx.words[2]);
}

// Pre-1.5 spellings of the three main timeouts, still found in old configs.
void kw_old_timeout(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<time>")) return;
  std::string_view which = ctx.words[0] == "contimeout"   ? "connect"
                           : ctx.words[0] == "clitimeout" ? "client"
                                                          : "server";
  ctx.warning("'" + ctx.words[0] + "' was removed from HAProxy; use 'timeout " +
              std::string(which) + "' instead");
  set_timeout(ctx, which, ctx.words[1]);
}

// option forwardfor [except NET] [header NAME] [if-none]
void option_forwardfor(const line_context& ctx, size_t first) {
  auto& ff = *ctx.proxy().s.options.mutable_forwardfor();
  ff.Clear();
  ff.set_enabled(true);
  ff.set_header("X-Forwarded-For");
  const auto& w = ctx.words;
  for (size_t i = first; i < w.size(); ++i) {
    if ((w[i] == "except" || w[i] == "header") && i + 1 >= w.size()) {
      ctx.error("'option forwardfor " + w[i] + "' expects a value");
      return;
    }
    if (w[i] == "except") {
      auto net = parse_ip_net(w[++i]);
      if (!net) {
        ctx.error("'option forwardfor except': " + net.error);
        return;
      }
      *ff.add_except() = net.value;
    } else if (w[i] == "header") {
      ff.set_header(w[++i]);
    } else if (w[i] == "if-none") {
      ff.set_if_none(true);
    } else {
      ctx.error("unknown 'option forwardfor' argument '" + w[i] +
                "' (expected except, header or if-none)");
      return;
    }
  }
}

// option httpchk [<uri>] | <method> <uri> [<version>]
void option_httpchk(const line_context& ctx, size_t first) {
  auto& hc = ctx.proxy().s.http_check;
  const auto& w = ctx.words;
  size_t n = w.size() - first;
  if (n > 3) {
    ctx.error(
        "'option httpchk' expects at most 3 arguments ([<method>] [<uri>] [<version>]), "
        "got " +
        std::to_string(n));
    return;
  }
  hc.set_enabled(true);
  if (hc.method().empty()) hc.set_method("OPTIONS");
  if (hc.uri().empty()) hc.set_uri("/");
  if (hc.version().empty()) hc.set_version("HTTP/1.0");
  if (n == 1) {
    hc.set_uri(w[first]);
  } else if (n >= 2) {
    hc.set_method(w[first]);
    hc.set_uri(w[first + 1]);
    if (n == 3) {
      // Old configs smuggle headers into the version: "HTTP/1.1\r\nHost:\ www".
      std::string v = w[first + 2];
      size_t crlf = v.find("\r\n");
      hc.set_version(v.substr(0, crlf));
      while (crlf != std::string::npos) {
        size_t next = v.find("\r\n", crlf + 2);
        std::string h = v.substr(crlf + 2, next == std::string::npos ? next : next - crlf - 2);
        if (!h.empty()) hc.add_headers(h);
        crlf = next;
      }
    }
  }
}

struct bool_option {
  std::string_view name;
  void (pb::Options::*set)(bool);
  unsigned sections;
};

const std::array<bool_option, 16> bool_options = {{
    {"httplog", &pb::Options::set_httplog, in_fe},
    {"tcplog", &pb::Options::set_tcplog, in_fe},
    {"httpslog", &pb::Options::set_httpslog, in_fe},
    {"dontlognull", &pb::Options::set_dontlognull, in_fe},
    {"dontlog-normal", &pb::Options::set_dontlog_normal, in_fe},
    {"log-separate-errors", &pb::Options::set_log_separate_errors, in_fe},
    {"redispatch", &pb::Options::set_redispatch, in_be},
    {"log-health-checks", &pb::Options::set_log_health_checks, in_be},
    {"allbackups", &pb::Options::set_allbackups, in_be},
    {"http-buffer-request", &pb::Options::set_http_buffer_request, in_any_proxy},
    {"abortonclose", &pb::Options::set_abortonclose, in_be},
    {"splice-auto", &pb::Options::set_splice_auto, in_any_proxy},
    {"tcp-smart-accept", &pb::Options::set_tcp_smart_accept, in_fe},
    {"tcp-smart-connect", &pb::Options::set_tcp_smart_connect, in_be},
    {"http-ignore-probes", &pb::Options::set_http_ignore_probes, in_fe},
    {"http-use-htx", &pb::Options::set_http_use_htx, in_any_proxy},
}};

constexpr std::array<std::string_view, 24> unsupported_options = {"ssl-hello-chk",
                                                                  "mysql-check",
                                                                  "pgsql-check",
                                                                  "redis-check",
                                                                  "smtpchk",
                                                                  "ldap-check",
                                                                  "spop-check",
                                                                  "tcp-check",
                                                                  "external-check",
                                                                  "http-pretend-keepalive",
                                                                  "http-no-delay",
                                                                  "tcpka",
                                                                  "clitcpka",
                                                                  "srvtcpka",
                                                                  "transparent",
                                                                  "persist",
                                                                  "prefer-last-server",
                                                                  "independent-streams",
                                                                  "nolinger",
                                                                  "originalto",
                                                                  "checkcache",
                                                                  "socket-stats",
                                                                  "contstats",
                                                                  "accept-invalid-http-request"};

void kw_option(const line_context& ctx, bool negate, size_t at) {
  const auto& w = ctx.words;
  if (w.size() <= at) {
    ctx.error("'option' expects an option name (e.g. 'option httplog')");
    return;
  }
  const std::string& name = w[at];
  auto& opts = ctx.proxy().s.options;
  unsigned bit = section_bit(ctx.proxy().kind);
  if (negate && (name == "forwardfor" || name == "httplog" || name == "httpchk")) {
    ctx.error("'no option " + name + "' is not supported (HAProxy has no negation for it)");
    return;
  }
  for (const auto& o : bool_options) {
    if (o.name != name) continue;
    if (!ctx.expect_args(at + 1, 0, name == "httplog" ? 1 : 0, name == "httplog" ? "[clf]" : "")) {
      return;
    }
    if ((o.sections & bit) == 0) {
      ctx.warning("'option " + name + "' has no effect in a " + section_name(ctx.proxy().kind));
    }
    (opts.*o.set)(!negate);
    // One log format at a time, as in HAProxy: the last of httplog/tcplog/httpslog wins.
    if (!negate && (name == "httplog" || name == "tcplog" || name == "httpslog")) {
      if (name != "httplog") opts.set_httplog(false);
      if (name != "tcplog") opts.set_tcplog(false);
      if (name != "httpslog") opts.set_httpslog(false);
    }
    if (name == "http-use-htx") {
      ctx.warning("'option http-use-htx' is obsolete (HTX is always on); it has no effect");
    }
    return;
  }
  if (name == "forwardfor") {
    if (negate) {
      opts.mutable_forwardfor()->Clear();
    } else {
      option_forwardfor(ctx, at + 1);
    }
    return;
  }
  if (name == "httpchk") {
    if (negate) {
      ctx.proxy().s.http_check.set_enabled(false);
    } else {
      option_httpchk(ctx, at + 1);
    }
    return;
  }
  if (name == "http-server-close" || name == "httpclose" || name == "http-keep-alive" ||
      name == "forceclose") {
    if (!ctx.expect_args(at + 1, 0, 0, "")) return;
    if (name == "forceclose") {
      ctx.warning(
          "'option forceclose' was removed from HAProxy; it now means 'option "
          "httpclose'");
    }
    pb::HttpConnMode m = name == "http-server-close" ? pb::CONN_SERVER_CLOSE
                         : name == "http-keep-alive" ? pb::CONN_KEEP_ALIVE
                                                     : pb::CONN_CLOSE;
    opts.set_conn_mode(negate ? pb::CONN_KEEP_ALIVE : m);
    return;
  }
  if (one_of(unsupported_options, name)) {
    ctx.error("'option " + name + "' is not supported by sluice");
    return;
  }
  std::vector<std::string_view> names = {"forwardfor", "httpchk", "http-server-close", "httpclose",
                                         "http-keep-alive"};
  for (const auto& o : bool_options) names.push_back(o.name);
  ctx.error("unknown option '" + name + "'" + did_you_mean(name, names));
}

void kw_option(const line_context& ctx) {
  kw_option(ctx, false, 1);
}

// `no option X`, `no log`
void kw_no(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() >= 2 && w[1] == "option") {
    kw_option(ctx, true, 2);
  } else if (w.size() == 2 && w[1] == "log") {
    ctx.proxy().s.logs.clear();
    ctx.proxy().s.log_global = false;
  } else {
    ctx.error("'no' must be followed by 'option NAME' or 'log'");
  }
}

void kw_retries(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>") && uint_arg(ctx, 1, 0, 100, n)) {
    ctx.proxy().s.retries = n;
  }
}

void kw_maxconn(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>") && uint_arg(ctx, 1, 0, 100'000'000, n)) {
    ctx.proxy().s.maxconn = n;
  }
}

void kw_fullconn(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>") && uint_arg(ctx, 1, 0, 100'000'000, n)) {
    ctx.proxy().s.fullconn = n;
  }
}

// balance roundrobin|static-rr|leastconn|first|source|uri [..]|url_param N|hdr(N)|random[(N)]
void kw_balance(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() < 2) {
    ctx.error(
        "'balance' expects an algorithm (roundrobin, static-rr, leastconn, first, source, "
        "uri, url_param, hdr(NAME), random)");
    return;
  }
  auto& s = ctx.proxy().s;
  const std::string& a = w[1];
  s.balance_arg.clear();
  s.balance_hdr_domain_only = false;
  auto no_more = [&](size_t from) { return ctx.expect_args(from, 0, 0, ""); };
  if (a == "roundrobin") {
    if (no_more(2)) s.balance = pb::BALANCE_ROUNDROBIN;
  } else if (a == "static-rr") {
    if (no_more(2)) s.balance = pb::BALANCE_STATIC_RR;
  } else if (a == "leastconn") {
    if (no_more(2)) s.balance = pb::BALANCE_LEASTCONN;
  } else if (a == "first") {
    if (no_more(2)) s.balance = pb::BALANCE_FIRST;
  } else if (a == "source") {
    if (no_more(2)) s.balance = pb::BALANCE_SOURCE;
  } else if (a == "uri") {
    s.balance = pb::BALANCE_URI;
    s.balance_uri_whole = false;
    s.balance_uri_depth = s.balance_uri_len = 0;
    for (size_t i = 2; i < w.size(); ++i) {
      if (w[i] == "whole") {
        s.balance_uri_whole = true;
      } else if ((w[i] == "len" || w[i] == "depth") && i + 1 < w.size()) {
        uint32_t n = 0;
        if (!uint_arg(ctx, i + 1, 1, 65535, n)) return;
        (w[i] == "len" ? s.balance_uri_len : s.balance_uri_depth) = n;
        ++i;
      } else if (w[i] == "path-only") {
      } else {
        ctx.error("unknown 'balance uri' option '" + w[i] + "' (expected whole, len N, depth N)");
        return;
      }
    }
  } else if (a == "url_param") {
    if (w.size() < 3) {
      ctx.error("'balance url_param' expects a parameter name");
      return;
    }
    s.balance = pb::BALANCE_URL_PARAM;
    s.balance_arg = w[2];
    if (w.size() > 3 && w[3] != "check_post") {
      ctx.error("unexpected '" + w[3] + "' after 'balance url_param " + w[2] + "'");
    } else if (w.size() > 3) {
      ctx.error("'balance url_param ... check_post' is not supported by sluice");
    }
  } else if (a.starts_with("hdr(") && a.ends_with(")")) {
    s.balance = pb::BALANCE_HDR;
    s.balance_arg = a.substr(4, a.size() - 5);
    if (s.balance_arg.empty()) ctx.error("'balance hdr()' needs a header name");
    if (w.size() > 2 && w[2] != "use_domain_only") {
      ctx.error("unexpected '" + w[2] + "' after 'balance " + a + "'");
    } else if (w.size() > 2) {
      s.balance_hdr_domain_only = true;
    }
  } else if (a == "random" || (a.starts_with("random(") && a.ends_with(")"))) {
    s.balance = pb::BALANCE_RANDOM;
    s.random_draws = 2;
    if (a != "random") {
      auto v = parse_int(std::string_view(a).substr(7, a.size() - 8), 1, 100);
      if (!v) {
        ctx.error("'balance " + a + "': " + v.error);
        return;
      }
      s.random_draws = static_cast<uint32_t>(v.value);
    }
    no_more(2);
  } else if (a == "rdp-cookie" || a.starts_with("rdp-cookie(") || a == "hash" ||
             a.starts_with("hash")) {
    ctx.error("'balance " + a + "' is not supported by sluice");
  } else {
    ctx.error("unknown balance algorithm '" + a + "'" +
              did_you_mean(a, {"roundrobin", "static-rr", "leastconn", "first", "source", "uri",
                               "url_param", "random"}));
  }
}

// hash-type map-based|consistent [sdbm|djb2|wt6|crc32|none] [avalanche]
void kw_hash_type(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 3, "map-based|consistent [<function>] [avalanche]")) return;
  auto& s = ctx.proxy().s;
  const auto& w = ctx.words;
  if (w[1] == "consistent") {
    s.hash_consistent = true;
  } else if (w[1] == "map-based") {
    s.hash_consistent = false;
  } else {
    ctx.error("'hash-type' expects map-based or consistent, got '" + w[1] + "'");
    return;
  }
  s.hash_function = "sdbm";
  for (size_t i = 2; i < w.size(); ++i) {
    if (w[i] == "sdbm" || w[i] == "djb2" || w[i] == "wt6" || w[i] == "crc32" || w[i] == "none") {
      s.hash_function = w[i];
    } else if (w[i] == "avalanche") {
      s.hash_function += "+avalanche";
    } else {
      ctx.error("unknown hash function '" + w[i] + "' (expected sdbm, djb2, wt6, crc32, none)");
    }
  }
}

void kw_http_reuse(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "never|safe|aggressive|always")) return;
  auto& s = ctx.proxy().s;
  const std::string& m = ctx.words[1];
  if (m == "never") {
    s.http_reuse = pb::REUSE_NEVER;
  } else if (m == "safe") {
    s.http_reuse = pb::REUSE_SAFE;
  } else if (m == "aggressive") {
    s.http_reuse = pb::REUSE_AGGRESSIVE;
  } else if (m == "always") {
    s.http_reuse = pb::REUSE_ALWAYS;
  } else {
    ctx.error("'http-reuse' expects never, safe, aggressive or always, got '" + m + "'");
  }
}

void kw_log(const line_context& ctx) {
  if (ctx.words.size() == 2 && ctx.words[1] == "global") {
    ctx.proxy().s.log_global = true;
    return;
  }
  pb::LogTarget t;
  if (parse_log_target(ctx, t)) ctx.proxy().s.logs.push_back(std::move(t));
}

void kw_log_format(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<format> (quote it when it has spaces)")) return;
  ctx.proxy().s.log_format = ctx.words[1];
}

void add_backend_ref(const line_context& ctx, const std::string& name, int use_index) {
  ctx.proxy().backend_refs.push_back({name, ctx.where, use_index});
}

// default_backend NAME
void kw_default_backend(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<backend>")) return;
  auto& p = ctx.proxy();
  if (p.kind == section::defaults) {
    ctx.error("'default_backend' in a 'defaults' section is not supported by sluice");
    return;
  }
  std::erase_if(p.backend_refs,
                [](const pending_backend_ref& r) { return r.use_backend_index < 0; });
  add_backend_ref(ctx, ctx.words[1], -1);
}

// use_backend NAME [if|unless COND]
void kw_use_backend(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() < 2) {
    ctx.error(
        "'use_backend' expects a backend name, then optionally 'if' or 'unless' and a "
        "condition");
    return;
  }
  pb::Frontend::UseBackend ub;
  if (w.size() > 2) {
    if (!parse_condition(ctx, 2, false, *ub.mutable_condition())) return;
  }
  auto& p = ctx.proxy();
  int index = static_cast<int>(p.use_backends.size());
  if (w[1].find("%[") != std::string::npos) {
    ub.set_dynamic_name(w[1]);  // resolved per request
  } else {
    add_backend_ref(ctx, w[1], index);
  }
  p.use_backends.push_back(std::move(ub));
}

void kw_errorfile(const line_context& ctx) {
  if (!ctx.expect_args(1, 2, 2, "<status> <file>")) return;
  uint32_t code = 0;
  if (!uint_arg(ctx, 1, 100, 599, code)) return;
  static constexpr std::array<uint32_t, 17> allowed = {200, 400, 401, 403, 404, 405, 407, 408, 410,
                                                       413, 425, 429, 500, 501, 502, 503, 504};
  if (std::find(allowed.begin(), allowed.end(), code) == allowed.end()) {
    ctx.error("'errorfile' does not handle status " + std::to_string(code) +
              " (supported: 200 400 401 403 404 405 407 408 410 413 425 429 500 501 502 503 504)");
    return;
  }
  std::string contents;
  if (!read_error_file(ctx, ctx.words[2], contents)) return;
  auto& list = ctx.proxy().s.errorfiles;
  std::erase_if(list, [&](const pb::ErrorFile& e) { return e.status() == code; });
  pb::ErrorFile e;
  e.set_status(code);
  e.set_path(ctx.words[2]);
  e.set_contents(std::move(contents));
  list.push_back(std::move(e));
}

void kw_description(const line_context& ctx) {
  ctx.expect_args(1, 1, SIZE_MAX, "<text>");
}

void kw_disabled(const line_context& ctx) {
  if (ctx.expect_args(1, 0, 0, "")) ctx.proxy().disabled = true;
}

void kw_enabled(const line_context& ctx) {
  if (ctx.expect_args(1, 0, 0, "")) ctx.proxy().disabled = false;
}

void kw_id(const line_context& ctx) {
  uint32_t n = 0;
  if (ctx.expect_args(1, 1, 1, "<number>")) uint_arg(ctx, 1, 1, 2147483647, n);
}

constexpr keyword table[] = {
    {"mode", in_any_proxy, kw_mode},
    {"bind", in_frontend | in_listen, kw_bind},
    {"timeout", in_any_proxy, kw_timeout},
    {"contimeout", in_any_proxy, kw_old_timeout},
    {"clitimeout", in_any_proxy, kw_old_timeout},
    {"srvtimeout", in_any_proxy, kw_old_timeout},
    {"option", in_any_proxy, kw_option},
    {"no", in_any_proxy, kw_no},
    {"retries", in_be, kw_retries},
    {"maxconn", in_fe, kw_maxconn},
    {"fullconn", in_be, kw_fullconn},
    {"balance", in_be, kw_balance},
    {"hash-type", in_be, kw_hash_type},
    {"http-reuse", in_be, kw_http_reuse},
    {"log", in_any_proxy, kw_log},
    {"log-format", in_fe, kw_log_format},
    {"default_backend", in_fe, kw_default_backend},
    {"use_backend", in_frontend | in_listen, kw_use_backend},
    {"errorfile", in_any_proxy, kw_errorfile},
    {"description", in_proxies, kw_description},
    {"disabled", in_any_proxy, kw_disabled},
    {"enabled", in_any_proxy, kw_enabled},
    {"id", in_proxies, kw_id},
};

}  // namespace

std::span<const keyword> proxy_keywords() {
  return table;
}

bool read_error_file(const line_context& ctx, const std::string& path, std::string& contents) {
  if (!ctx.st.files_allowed) {
    ctx.error("cannot read error file '" + path + "': file access is disabled");
    return false;
  }
  std::string why;
  if (!read_file(path, contents, why, 1 << 20)) {
    ctx.error("cannot read error file '" + path + "'" + (why.empty() ? "" : ": " + why));
    return false;
  }
  if (!contents.starts_with("HTTP/")) {
    ctx.error("error file '" + path + "' must hold a whole HTTP response starting with 'HTTP/'");
    return false;
  }
  return true;
}

bool is_unsupported_haproxy_keyword(std::string_view word) {
  static constexpr std::string_view words[] = {
      // global
      "ssl-dh-param-file", "tune.ssl.cachesize", "maxsslconn", "maxsslrate", "lua-load",
      "lua-prepend-path", "server-state-file", "server-state-base", "nbproc", "cpu-map", "setenv",
      "presetenv", "resetenv", "unsetenv", "h1-case-adjust", "insecure-fork-wanted", "localpeer",
      "log-send-hostname", "log-tag", "set-dumpable", "tune.ssl.lifetime", "tls-ticket-keys",
      // proxies
      "stick-table", "stick", "cookie", "capture", "compression", "cache", "filter", "tcp-request",
      "tcp-response", "tcp-check", "unique-id-format", "unique-id-header", "monitor-uri", "monitor",
      "monitor-net", "server-template", "dynamic-cookie-key", "persist", "rate-limit",
      "email-alert", "force-persist", "ignore-persist", "load-server-state-from-file",
      "http-after-response", "http-error", "errorfiles", "errorloc", "errorloc302", "errorloc303",
      "http-send-name-header", "declare", "source", "use-server", "grace", "backlog",
      "max-keep-alive-queue", "tarpit", "http-check-disable-on-404", "stats"};
  for (auto w : words) {
    if (w == word) return true;
  }
  return false;
}

}  // namespace sluice::master::config
