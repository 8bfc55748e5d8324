// `server`, `default-server` and `http-check`: the servers of a backend and how they are
// checked.
#include <array>

#include "master/config/address.h"
#include "master/config/keywords.h"
#include "master/config/keywords_tls.h"
#include "master/config/suggest.h"
#include "master/config/units.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

constexpr std::array<std::string_view, 24> other_unsupported = {"crl-file",
                                                                "npn",
                                                                "send-proxy",
                                                                "send-proxy-v2",
                                                                "send-proxy-v2-ssl",
                                                                "send-proxy-v2-ssl-cn",
                                                                "check-send-proxy",
                                                                "proxy-v2-options",
                                                                "agent-check",
                                                                "agent-port",
                                                                "agent-inter",
                                                                "agent-addr",
                                                                "agent-send",
                                                                "resolvers",
                                                                "resolve-prefer",
                                                                "resolve-net",
                                                                "resolve-opts",
                                                                "cookie",
                                                                "redir",
                                                                "track",
                                                                "source",
                                                                "usesrc",
                                                                "namespace",
                                                                "proto"};

// Options that take no value, for skipping the value of an unsupported one.
constexpr std::array<std::string_view, 6> flag_options = {
    "send-proxy",           "send-proxy-v2",    "send-proxy-v2-ssl",
    "send-proxy-v2-ssl-cn", "check-send-proxy", "agent-check"};

template <size_t N>
bool one_of(const std::array<std::string_view, N>& set, std::string_view w) {
  for (auto s : set) {
    if (s == w) return true;
  }
  return false;
}

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  for (char c : n) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

// server NAME ADDR[:PORT] [options]
void kw_server(const line_context& ctx) {
  const auto& w = ctx.words;
  if (w.size() < 3) {
    ctx.error("'server' expects a name and an address (e.g. 'server web1 10.0.0.1:80 check')");
    return;
  }
  auto& p = ctx.proxy();
  pb::Server srv = p.s.default_server;
  srv.set_name(w[1]);
  *srv.mutable_origin() = ctx.origin();
  if (!valid_name(w[1])) {
    ctx.error("server name '" + w[1] + "' may only contain letters, digits, '-', '_', '.', ':'");
    return;
  }
  for (const auto& other : p.servers) {
    if (other.name() == w[1]) {
      ctx.error("server '" + w[1] + "' is declared twice in backend '" + p.name +
                "' (first at line " + std::to_string(other.origin().line()) + ")");
      return;
    }
  }
  auto e = parse_server_endpoint(w[2]);
  if (!e) {
    ctx.error(e.error);
    return;
  }
  if (!e.value.unix_path.empty()) {
    srv.set_address("unix@" + e.value.unix_path);
  } else {
    srv.set_address(e.value.host);
    srv.set_port(e.value.has_port ? e.value.port_first : 0);
    srv.set_resolved_numeric(e.value.numeric);
  }
  bool ok = true;
  for (size_t i = 3; i < w.size() && ok; ++i) ok = parse_server_option(ctx, i, srv, false);
  if (!ok || !finish_server_tls(ctx, srv)) return;
  p.servers.push_back(std::move(srv));
}

// default-server [options]
void kw_default_server(const line_context& ctx) {
  auto& d = ctx.proxy().s.default_server;
  pb::Server copy = d;
  bool ok = true;
  for (size_t i = 1; i < ctx.words.size() && ok; ++i) {
    ok = parse_server_option(ctx, i, copy, true);
  }
  if (ok) d = std::move(copy);
}

// http-check send [meth M] [uri U] [ver V] [hdr N V]... [body S]
// http-check expect [!] status|rstatus|string|rstring PATTERN
void kw_http_check(const line_context& ctx) {
  const auto& w = ctx.words;
  auto& hc = ctx.proxy().s.http_check;
  if (w.size() < 2) {
    ctx.error("'http-check' expects 'send' or 'expect'");
    return;
  }
  if (w[1] == "send") {
    for (size_t i = 2; i < w.size(); ++i) {
      const std::string& o = w[i];
      if (o == "hdr") {
        if (i + 2 >= w.size()) {
          ctx.error("'http-check send hdr' expects a name and a value");
          return;
        }
        hc.add_headers(w[i + 1] + ": " + w[i + 2]);
        i += 2;
        continue;
      }
      if (i + 1 >= w.size()) {
        ctx.error("'http-check send " + o + "' expects a value");
        return;
      }
      if (o == "meth") {
        hc.set_method(w[++i]);
      } else if (o == "uri") {
        hc.set_uri(w[++i]);
      } else if (o == "ver") {
        hc.set_version(w[++i]);
      } else if (o == "body") {
        hc.set_body(w[++i]);
      } else if (o == "uri-lf" || o == "body-lf") {
        ctx.error("'http-check send " + o + "' is not supported by sluice");
        return;
      } else {
        ctx.error("unknown 'http-check send' option '" + o +
                  "' (expected meth, uri, ver, hdr, body)");
        return;
      }
    }
    if (hc.method().empty()) hc.set_method("GET");
    if (hc.uri().empty()) hc.set_uri("/");
    if (hc.version().empty()) hc.set_version("HTTP/1.0");
    return;
  }
  if (w[1] == "expect") {
    size_t i = 2;
    bool negate = false;
    if (i < w.size() && w[i] == "!") {
      negate = true;
      ++i;
    }
    if (i < w.size() && (w[i] == "hdr" || w[i] == "fhdr" || w[i] == "custom")) {
      ctx.error("'http-check expect " + w[i] + "' is not supported by sluice");
      return;
    }
    if (i + 2 != w.size()) {
      ctx.error("'http-check expect' expects [!] <status|rstatus|string|rstring> <pattern>");
      return;
    }
    const std::string& m = w[i];
    const std::string& pat = w[i + 1];
    if (m == "status") {
      if (pat.find_first_not_of("0123456789,-") != std::string::npos) {
        ctx.error(
            "'http-check expect status' expects codes or ranges such as 200 or 200-399, "
            "got '" +
            pat + "'");
        return;
      }
      hc.set_expect(pb::HttpCheck::EXPECT_STATUS);
    } else if (m == "rstatus" || m == "rstring") {
      if (!check_regex(ctx, pat, false, "'http-check expect' pattern")) return;
      hc.set_expect(m == "rstatus" ? pb::HttpCheck::EXPECT_RSTATUS : pb::HttpCheck::EXPECT_RSTRING);
    } else if (m == "string") {
      hc.set_expect(pb::HttpCheck::EXPECT_STRING);
    } else if (m == "hdr" || m == "fhdr" || m == "custom") {
      ctx.error("'http-check expect " + m + "' is not supported by sluice");
      return;
    } else {
      ctx.error("unknown 'http-check expect' method '" + m +
                "' (expected status, rstatus, string or rstring)");
      return;
    }
    hc.set_expect_pattern(pat);
    hc.set_expect_negate(negate);
    return;
  }
  if (w[1] == "connect" || w[1] == "disable-on-404" || w[1] == "send-state" || w[1] == "comment" ||
      w[1] == "set-var" || w[1] == "unset-var") {
    ctx.error("'http-check " + w[1] + "' is not supported by sluice");
    return;
  }
  ctx.error("unknown 'http-check' directive '" + w[1] + "' (expected send or expect)");
}

constexpr keyword table[] = {
    {"server", in_backend | in_listen, kw_server},
    {"default-server", in_be, kw_default_server},
    {"http-check", in_be, kw_http_check},
};

}  // namespace

std::span<const keyword> server_keywords() {
  return table;
}

bool parse_server_option(const line_context& ctx, size_t& i, pb::Server& srv, bool is_default) {
  const auto& w = ctx.words;
  option_cursor c(ctx, i, "server");
  const std::string& o = c.name();
  auto value = [&c](const char* what) { return c.value(what); };
  auto time_value = [&](uint64_t& out) {
    const std::string* v = value("a time");
    if (v == nullptr) return false;
    auto t = parse_time_ms(*v);
    if (!t) {
      ctx.error("server option '" + o + "': " + t.error);
      return false;
    }
    if (t.value == 0 && o != "slowstart") {
      ctx.error("server option '" + o + "' must be greater than zero");
      return false;
    }
    out = t.value;
    return true;
  };
  auto int_value = [&](int64_t min, int64_t max, auto& out) {
    const std::string* v = value("a number");
    if (v == nullptr) return false;
    auto n = parse_int(*v, min, max);
    if (!n) {
      ctx.error("server option '" + o + "': " + n.error);
      return false;
    }
    out = static_cast<std::remove_reference_t<decltype(out)>>(n.value);
    return true;
  };
  uint64_t t = 0;
  uint32_t n = 0;
  if (o == "check") {
    srv.set_check(true);
  } else if (o == "no-check") {
    srv.set_check(false);
  } else if (o == "backup") {
    srv.set_backup(true);
  } else if (o == "no-backup") {
    srv.set_backup(false);
  } else if (o == "disabled") {
    srv.set_disabled(true);
  } else if (o == "enabled") {
    srv.set_disabled(false);
  } else if (o == "inter" || o == "fastinter" || o == "downinter" || o == "slowstart") {
    if (!time_value(t)) return false;
    if (o == "inter") srv.set_inter_ms(t);
    if (o == "fastinter") srv.set_fastinter_ms(t);
    if (o == "downinter") srv.set_downinter_ms(t);
    if (o == "slowstart") srv.set_slowstart_ms(t);
  } else if (o == "rise" || o == "fall") {
    if (!int_value(1, 1'000'000, n)) return false;
    (o == "rise") ? srv.set_rise(n) : srv.set_fall(n);
  } else if (o == "weight") {
    if (!int_value(0, 256, n)) return false;
    srv.set_weight(n);
  } else if (o == "maxconn" || o == "maxqueue" || o == "minconn") {
    if (!int_value(0, 100'000'000, n)) return false;
    if (o == "maxconn") srv.set_maxconn(n);
    if (o == "maxqueue") srv.set_maxqueue(n);
  } else if (o == "error-limit") {
    if (!int_value(1, 1'000'000, n)) return false;
    srv.set_error_limit(n);
  } else if (o == "port") {
    if (!int_value(1, 65535, n)) return false;
    srv.set_check_port(n);
  } else if (o == "id") {
    if (!int_value(1, 2147483647, n)) return false;
  } else if (o == "addr") {
    const std::string* v = value("an address");
    if (v == nullptr) return false;
    bool v6 = false;
    if (!is_ip_literal(*v, v6)) {
      ctx.error("server option 'addr' expects an IP address, got '" + *v + "'");
      return false;
    }
    srv.set_check_addr(*v);
  } else if (o == "on-marked-down") {
    const std::string* v = value("'shutdown-sessions'");
    if (v == nullptr) return false;
    if (*v != "shutdown-sessions") {
      ctx.error("'on-marked-down' only supports 'shutdown-sessions', got '" + *v + "'");
      return false;
    }
    srv.set_shutdown_sessions_on_down(true);
  } else if (o == "on-marked-up") {
    ctx.error("'on-marked-up' is not supported by sluice");
    return false;
  } else if (o == "observe") {
    const std::string* v = value("layer4 or layer7");
    if (v == nullptr) return false;
    if (*v == "layer4") {
      srv.set_observe(pb::Server::OBSERVE_LAYER4);
    } else if (*v == "layer7") {
      srv.set_observe(pb::Server::OBSERVE_LAYER7);
    } else {
      ctx.error("'observe' expects layer4 or layer7, got '" + *v + "'");
      return false;
    }
  } else if (o == "on-error") {
    const std::string* v = value("fastinter, fail-check, sudden-death or mark-down");
    if (v == nullptr) return false;
    if (*v == "fastinter") {
      srv.set_on_error(pb::Server::ON_ERROR_FASTINTER);
    } else if (*v == "fail-check") {
      srv.set_on_error(pb::Server::ON_ERROR_FAIL_CHECK);
    } else if (*v == "sudden-death") {
      srv.set_on_error(pb::Server::ON_ERROR_SUDDEN_DEATH);
    } else if (*v == "mark-down") {
      srv.set_on_error(pb::Server::ON_ERROR_MARK_DOWN);
    } else {
      ctx.error("'on-error' expects fastinter, fail-check, sudden-death or mark-down, got '" + *v +
                "'");
      return false;
    }
  } else if (o == "init-addr") {
    if (value("a method list") == nullptr) return false;
  } else if (o == "tfo" || o == "no-tfo") {
  } else if (o == "pool-max-conn") {
    int32_t max = 0;  // -1: no limit
    if (!int_value(-1, 1'000'000, max)) return false;
    srv.set_pool_max_conn(max);
    srv.set_pool_max_conn_set(true);
  } else if (o == "pool-purge-delay") {
    uint64_t ms = 0;
    if (!time_value(ms)) return false;
    srv.set_pool_purge_delay_ms(ms);
  } else if (o == "pool-low-conn") {
    if (value("a number") == nullptr) return false;
  } else if (auto t = parse_server_tls_option(ctx, i, srv); t != tls_option::not_tls) {
    return t == tls_option::ok;
  } else if (one_of(other_unsupported, o)) {
    ctx.error("'" + o + "' is not supported by sluice");
    if (!one_of(flag_options, o) && i + 1 < w.size()) ++i;
    return false;
  } else {
    std::vector<std::string_view> names = {
        "check",     "no-check",  "backup",      "disabled", "enabled", "inter",
        "fastinter", "downinter", "slowstart",   "rise",     "fall",    "weight",
        "maxconn",   "maxqueue",  "error-limit", "port",     "addr",    "on-marked-down",
        "observe",   "on-error",  "id",          "init-addr"};
    ctx.error(std::string("unknown ") + (is_default ? "default-server" : "server") + " option '" +
              o + "'" + did_you_mean(o, names));
    return false;
  }
  return true;
}

}  // namespace sluice::master::config
