#include "master/config/keywords_tls.h"

#include <openssl/ssl.h>

#include <array>
#include <filesystem>

#include "master/config/suggest.h"
#include "master/config/tls_load.h"
#include "master/config/units.h"
#include "worker/route/fetches.h"

namespace sluice::master::config {

namespace pb = sluice::config;

namespace {

std::string with_base(const std::string& base, const std::string& path) {
  if (base.empty() || path.empty() || path.front() == '/') return path;
  return base + (base.back() == '/' ? "" : "/") + path;
}

// Version options shared by binds, servers and the ssl-default-*-options lines. `min` and
// `max` are OpenSSL version numbers, 0 = not set. Returns false if `o` is not one.
bool version_option(const line_context& ctx, size_t& i, uint32_t& min, uint32_t& max, bool& ok) {
  const auto& w = ctx.words;
  const std::string& o = w[i];
  if (o == "ssl-min-ver" || o == "ssl-max-ver") {
    if (i + 1 >= w.size()) {
      ctx.error("'" + o + "' expects a version (SSLv3, TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3)");
      ok = false;
      return true;
    }
    int v = tls_version_from_name(w[++i]);
    if (v == 0) {
      ctx.error("'" + o + "' expects SSLv3, TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3, got '" + w[i] +
                "'");
      ok = false;
      return true;
    }
    (o == "ssl-min-ver" ? min : max) = static_cast<uint32_t>(v);
    return true;
  }
  // no-VERSION trims the range from its end; force-VERSION pins it (as HAProxy's
  // deprecated forms, which ssl-min-ver/ssl-max-ver replace).
  static constexpr std::array<std::pair<std::string_view, int>, 5> versions = {{
      {"sslv3", SSL3_VERSION},
      {"tlsv10", TLS1_VERSION},
      {"tlsv11", TLS1_1_VERSION},
      {"tlsv12", TLS1_2_VERSION},
      {"tlsv13", TLS1_3_VERSION},
  }};
  for (auto [name, v] : versions) {
    const auto uv = static_cast<uint32_t>(v);
    if (o == "no-" + std::string(name)) {
      if (uv == TLS1_3_VERSION) {
        if (max == 0 || max > uv - 1) max = uv - 1;
      } else if (min == 0 || min <= uv) {
        min = uv + 1;
      }
      return true;
    }
    if (o == "force-" + std::string(name)) {
      min = max = uv;
      return true;
    }
  }
  return false;
}

bool cipher_option(const line_context& ctx, size_t& i, std::string& ciphers, std::string& suites,
                   bool& ok) {
  const auto& w = ctx.words;
  const std::string& o = w[i];
  if (o != "ciphers" && o != "ciphersuites") return false;
  if (i + 1 >= w.size()) {
    ctx.error("'" + o + "' expects a list");
    ok = false;
    return true;
  }
  std::string error;
  const std::string& list = w[++i];
  if (o == "ciphers" ? !check_ciphers(list, error) : !check_ciphersuites(list, error)) {
    ctx.error("'" + o + "': " + error);
    ok = false;
    return true;
  }
  (o == "ciphers" ? ciphers : suites) = list;
  return true;
}

// alpn h2,http/1.1: Sluice speaks HTTP/1.1, so it offers only what it speaks.
bool alpn_list(const line_context& ctx, const std::string& list,
               google::protobuf::RepeatedPtrField<std::string>& out) {
  out.Clear();
  for (std::string_view item : split_list(list)) {
    const std::string p(item);
    if (p.empty() || p.size() > 255) {
      ctx.error("'alpn' expects a comma-separated protocol list such as 'http/1.1'");
      return false;
    }
    if (p == "h2" || p == "h3") {
      ctx.warning("alpn: '" + p + "' is not offered: sluice speaks HTTP/1.1 and HTTP/1.0");
      continue;
    }
    *out.Add() = p;
  }
  return true;
}

// Fills the default minimum (TLS 1.2, as HAProxy) and checks the range of a bind's or a
// server's TLS settings.
template <class Tls>
void resolve_versions(const line_context& ctx, Tls& t) {
  if (t.min_version() == 0) t.set_min_version(TLS1_2_VERSION);
  if (t.max_version() != 0 && t.max_version() < t.min_version()) {
    ctx.error("TLS versions: the maximum is below the minimum (check ssl-min-ver, " +
              std::string("ssl-max-ver and the no-/force- options)"));
  }
}

// ssl-default-bind-options / ssl-default-server-options
void kw_default_options(const line_context& ctx) {
  const bool bind = ctx.words[0] == "ssl-default-bind-options";
  auto& st = ctx.st.tls;
  uint32_t min = bind ? st.bind.min_version() : st.server.min_version();
  uint32_t max = bind ? st.bind.max_version() : st.server.max_version();
  bool ok = true;
  for (size_t i = 1; i < ctx.words.size() && ok; ++i) {
    const std::string& o = ctx.words[i];
    if (version_option(ctx, i, min, max, ok)) continue;
    if (o == "no-tls-tickets") {
      bind ? st.bind.set_no_tickets(true) : st.server.set_no_tickets(true);
    } else if (o == "prefer-client-ciphers" && bind) {
      st.bind.set_prefer_client_ciphers(true);
    } else if (o == "strict-sni" && bind) {
      st.bind.set_strict_sni(true);
    } else if (o == "ssl-reuse" || o == "no-ca-names") {
    } else if (o == "no-ssl-reuse" && !bind) {
      st.server.set_no_reuse(true);
    } else {
      ctx.error(
          "'" + ctx.words[0] + "': unknown option '" + o + "'" +
          did_you_mean(o, {"ssl-min-ver", "ssl-max-ver", "no-tlsv10", "no-tlsv11", "no-tlsv12",
                           "no-tlsv13", "no-tls-tickets", "force-tlsv12", "force-tlsv13"}));
      ok = false;
    }
  }
  if (!ok) return;
  if (bind) {
    st.bind.set_min_version(min);
    st.bind.set_max_version(max);
  } else {
    st.server.set_min_version(min);
    st.server.set_max_version(max);
  }
}

void kw_default_ciphers(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<cipher list>")) return;
  const std::string& kw = ctx.words[0];
  const bool suites = kw.ends_with("ciphersuites");
  std::string error;
  if (suites ? !check_ciphersuites(ctx.words[1], error) : !check_ciphers(ctx.words[1], error)) {
    ctx.error("'" + kw + "': " + error);
    return;
  }
  auto& st = ctx.st.tls;
  if (kw.starts_with("ssl-default-bind")) {
    suites ? st.bind.set_ciphersuites(ctx.words[1]) : st.bind.set_ciphers(ctx.words[1]);
  } else {
    suites ? st.server.set_ciphersuites(ctx.words[1]) : st.server.set_ciphers(ctx.words[1]);
  }
}

void kw_base(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<directory>")) return;
  (ctx.words[0] == "crt-base" ? ctx.st.tls.crt_base : ctx.st.tls.ca_base) = ctx.words[1];
}

void kw_server_verify(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "none|required")) return;
  if (ctx.words[1] != "none" && ctx.words[1] != "required") {
    ctx.error("'ssl-server-verify' expects 'none' or 'required', got '" + ctx.words[1] + "'");
    return;
  }
  ctx.st.tls.server_verify = ctx.words[1] == "required";
}

// tune.ssl.default-dh-param: OpenSSL picks the DH group by the key's size (RFC 7919
// groups), so the number is checked and otherwise not needed.
void kw_dh_param(const line_context& ctx) {
  if (!ctx.expect_args(1, 1, 1, "<bits>")) return;
  if (ctx.words[1].find_first_not_of("0123456789") != std::string::npos) {
    ctx.error("'tune.ssl.default-dh-param' expects a number of bits");
  }
}

constexpr keyword global_table[] = {
    {"crt-base", in_global, kw_base},
    {"ca-base", in_global, kw_base},
    {"ssl-default-bind-options", in_global, kw_default_options},
    {"ssl-default-server-options", in_global, kw_default_options},
    {"ssl-default-bind-ciphers", in_global, kw_default_ciphers},
    {"ssl-default-bind-ciphersuites", in_global, kw_default_ciphers},
    {"ssl-default-server-ciphers", in_global, kw_default_ciphers},
    {"ssl-default-server-ciphersuites", in_global, kw_default_ciphers},
    {"ssl-server-verify", in_global, kw_server_verify},
    {"tune.ssl.default-dh-param", in_global, kw_dh_param},
};

// Reports that the option's value was refused, as the option's result.
tls_option refuse(option_cursor& c, const std::string& why) {
  c.fail(why);
  return tls_option::failed;
}

// The options binds and servers share: versions, ciphers, ALPN, tickets.
template <class Tls>
bool shared_option(option_cursor& c, Tls& t) {
  uint32_t min = t.min_version(), max = t.max_version();
  if (version_option(c.ctx, c.i, min, max, c.ok)) {
    t.set_min_version(min);
    t.set_max_version(max);
    return true;
  }
  if (cipher_option(c.ctx, c.i, *t.mutable_ciphers(), *t.mutable_ciphersuites(), c.ok)) {
    return true;
  }
  if (c.name() == "alpn") {
    if (const std::string* v = c.value("a protocol list")) {
      c.ok = alpn_list(c.ctx, *v, *t.mutable_alpn()) && c.ok;
    }
    return true;
  }
  if (c.name() == "no-tls-tickets") {
    t.set_no_tickets(true);
    return true;
  }
  return false;
}

}  // namespace

std::span<const keyword> tls_global_keywords() {
  return global_table;
}

void start_bind_tls(const line_context& ctx, pb::Bind& b) {
  *b.mutable_tls() = ctx.st.tls.bind;
}

tls_option parse_bind_tls_option(const line_context& ctx, size_t& i, pb::Bind& b) {
  option_cursor c{ctx, i, "bind"};
  const std::string& o = c.name();
  pb::TlsBind& t = *b.mutable_tls();
  if (o == "ssl") {
    b.set_ssl(true);
  } else if (shared_option(c, t)) {
  } else if (o == "crt") {
    const std::string* v = c.value("a certificate file or directory");
    if (v == nullptr || !c.may_read_files()) return tls_option::failed;
    std::string path = with_base(ctx.st.tls.crt_base, *v);
    std::string error;
    std::error_code ec;
    std::vector<pb::TlsCert> certs;
    if (std::filesystem::is_directory(path, ec)) {
      c.ok = load_certificate_dir(path, certs, error);
    } else {
      certs.emplace_back();
      c.ok = load_certificate(path, certs.back(), error);
    }
    if (!c.ok) return refuse(c, error);
    for (auto& cert : certs) *t.add_certs() = std::move(cert);
  } else if (o == "strict-sni") {
    t.set_strict_sni(true);
  } else if (o == "prefer-client-ciphers") {
    t.set_prefer_client_ciphers(true);
  } else if (o == "curves" || o == "ecdhe") {
    if (const std::string* v = c.value("a curve list")) t.set_curves(*v);
  } else if (o == "tls-ticket-keys") {
    const std::string* v = c.value("a key file");
    if (v == nullptr || !c.may_read_files()) return tls_option::failed;
    std::vector<std::string> keys;
    std::string error;
    if (!load_ticket_keys(*v, keys, error)) return refuse(c, error);
    t.clear_ticket_keys();
    for (auto& k : keys) t.add_ticket_keys(std::move(k));
    t.set_ticket_keys_path(*v);
  } else if (o == "ssl-reuse" || o == "no-ca-names") {
  } else if (o == "crt-list" || o == "ca-file" || o == "crl-file" || o == "verify" || o == "npn" ||
             o == "ca-ignore-err" || o == "crt-ignore-err" || o == "ca-verify-file" ||
             o == "ca-sign-file" || o == "ca-sign-pass") {
    ctx.error("bind option '" + o + "' is not supported by sluice" +
              (o == "crt-list" ? std::string(" (list the bundles with 'crt FILE' or 'crt DIR')")
                               : std::string(" (client certificates are not requested)")));
    if (i + 1 < ctx.words.size()) ++i;
    return tls_option::failed;
  } else if (o == "allow-0rtt" || o == "generate-certificates") {
    ctx.error("bind option '" + o + "' is not supported by sluice");
    return tls_option::failed;
  } else {
    return tls_option::not_tls;
  }
  return c.ok ? tls_option::ok : tls_option::failed;
}

bool finish_bind_tls(const line_context& ctx, pb::Bind& b) {
  pb::TlsBind& t = *b.mutable_tls();
  if (!b.ssl()) {
    if (t.certs_size() > 0) ctx.warning("bind: 'crt' without 'ssl' is ignored");
    b.clear_tls();
    return true;
  }
  if (t.certs_size() == 0) {
    ctx.error("bind: 'ssl' needs a certificate ('crt FILE' or 'crt DIR')");
    return false;
  }
  resolve_versions(ctx, t);
  return true;
}

tls_option parse_server_tls_option(const line_context& ctx, size_t& i, pb::Server& s) {
  option_cursor c{ctx, i, "server"};
  const std::string& o = c.name();
  pb::TlsServer& t = *s.mutable_tls();
  if (o == "ssl") {
    s.set_ssl(true);
  } else if (o == "no-ssl") {
    s.set_ssl(false);
  } else if (o == "check-ssl") {
    s.set_check_ssl(true);
  } else if (shared_option(c, t)) {
  } else if (o == "verify") {
    const std::string* v = c.value("none or required");
    if (v == nullptr) return tls_option::failed;
    if (*v != "none" && *v != "required") {
      ctx.error("server option 'verify' expects 'none' or 'required', got '" + *v + "'");
      return tls_option::failed;
    }
    t.set_verify(*v == "required");
    t.set_verify_set(true);
  } else if (o == "verifyhost") {
    if (const std::string* v = c.value("a host name")) t.set_verifyhost(*v);
  } else if (o == "ca-file") {
    const std::string* v = c.value("a CA file");
    if (v == nullptr || !c.may_read_files()) return tls_option::failed;
    std::string path = with_base(ctx.st.tls.ca_base, *v);
    std::string error;
    if (!load_ca_file(path, *t.mutable_ca_pem(), error)) return refuse(c, error);
    t.set_ca_path(path);
  } else if (o == "crt") {
    const std::string* v = c.value("a certificate file");
    if (v == nullptr || !c.may_read_files()) return tls_option::failed;
    std::string error;
    if (!load_certificate(with_base(ctx.st.tls.crt_base, *v), *t.mutable_client_cert(), error))
      return refuse(c, error);
  } else if (o == "sni") {
    const std::string* v = c.value("a sample expression such as req.hdr(host) or str(NAME)");
    if (v == nullptr) return tls_option::failed;
    std::string fetch = v->substr(0, v->find_first_of("(,"));
    if (sluice::worker::route::find_fetch(fetch) == nullptr)
      return refuse(c, "unknown fetch '" + fetch + "' in '" + *v + "'");
    t.set_sni("%[" + *v + "]");
  } else if (o == "no-ssl-reuse" || o == "ssl-reuse") {
    t.set_no_reuse(o == "no-ssl-reuse");
  } else if (o == "check-sni" || o == "check-alpn") {
    // Checks use the server's own sni and alpn.
    if (c.value("a value") == nullptr) return tls_option::failed;
  } else {
    return tls_option::not_tls;
  }
  return c.ok ? tls_option::ok : tls_option::failed;
}

bool finish_server_tls(const line_context& ctx, pb::Server& s) {
  pb::TlsServer& t = *s.mutable_tls();
  const pb::TlsServer& d = ctx.st.tls.server;
  // Checks of an `ssl` server on its own address and port are made over TLS too.
  if (s.ssl() && s.check() && s.check_port() == 0 && s.check_addr().empty()) {
    s.set_check_ssl(true);
  }
  if (!s.ssl() && !s.check_ssl()) {
    s.clear_tls();
    return true;
  }
  if (t.ciphers().empty()) t.set_ciphers(d.ciphers());
  if (t.ciphersuites().empty()) t.set_ciphersuites(d.ciphersuites());
  if (t.min_version() == 0) t.set_min_version(d.min_version());
  if (t.max_version() == 0) t.set_max_version(d.max_version());
  if (d.no_tickets()) t.set_no_tickets(true);
  if (d.no_reuse()) t.set_no_reuse(true);
  if (!t.verify_set()) t.set_verify(ctx.st.tls.server_verify);
  if (t.verify() && t.ca_pem().empty()) {
    ctx.error("server '" + s.name() +
              "': TLS verification is on (the default) but no 'ca-file' is given; add "
              "'ca-file FILE', or 'verify none' to trust any certificate");
    return false;
  }
  resolve_versions(ctx, t);
  return true;
}

}  // namespace sluice::master::config
