#include "master/config/compiler.h"

#include <map>

#include "master/config/draft.h"
#include "master/config/loader.h"
#include "master/config/parser.h"
#include "master/config/suggest.h"

namespace sluice::master::config {

namespace {

namespace pb = sluice::config;

// HAProxy's server defaults: inter 2s, rise 2, fall 3, weight 1; passive checks count 10
// errors and then fail a check.
pb::Server haproxy_default_server() {
  pb::Server s;
  s.set_inter_ms(2000);
  s.set_rise(2);
  s.set_fall(3);
  s.set_weight(1);
  s.set_error_limit(10);
  s.set_on_error(pb::Server::ON_ERROR_FAIL_CHECK);
  return s;
}

void apply_global_defaults(pb::Global& g) {
  if (g.bufsize() == 0) g.set_bufsize(16384);
  if (g.maxrewrite() == 0) g.set_maxrewrite(std::min<uint32_t>(1024, g.bufsize() / 2));
  if (g.http_maxhdr() == 0) g.set_http_maxhdr(101);
  if (g.metrics_prefix().empty()) g.set_metrics_prefix("sluice");
}

// A proxy that never says `mode` (nor its defaults) is TCP in HAProxy, which then ignores
// its HTTP rules. A config whose proxies use HTTP rules without a mode clearly means HTTP
// (the seed config is such a case), so Sluice runs it as HTTP and says so.
void settle_mode(proxy_draft& p, diagnostics& diag) {
  if (!p.http_only) return;
  if (!p.s.mode_set) {
    p.s.mode = pb::MODE_HTTP;
    diag.warning(p.where, std::string(section_name(p.kind)) + " '" + p.name +
                              "' has no 'mode'; it uses HTTP rules (first at line " +
                              std::to_string(p.http_only->line) +
                              "), so sluice runs it in 'mode http' (HAProxy would run it in "
                              "'mode tcp' and ignore them). Add 'mode http' to say so");
    return;
  }
  if (p.s.mode == pb::MODE_TCP) {
    diag.error(*p.http_only, "'" + p.http_only_word + "' needs 'mode http', but " +
                                 section_name(p.kind) + " '" + p.name + "' is in 'mode tcp'");
  }
}

// The stats process serves an exporter frontend's binds, in plain HTTP only.
void check_exporter_binds(const proxy_draft& p, diagnostics& diag) {
  if (!p.prometheus_exporter) return;
  for (const auto& b : p.binds) {
    if (!b.ssl()) continue;
    diag.error({b.origin().file(), b.origin().line()},
               "frontend '" + p.name +
                   "' serves the prometheus-exporter: its binds are plain HTTP ('ssl' is not "
                   "supported there)");
  }
}

void resolve_server(pb::Server& s) {
  if (s.fastinter_ms() == 0) s.set_fastinter_ms(s.inter_ms());
  if (s.downinter_ms() == 0) s.set_downinter_ms(s.inter_ms());
}

template <typename T>
void copy_list(const std::vector<T>& from, google::protobuf::RepeatedPtrField<T>* to) {
  for (const auto& x : from) *to->Add() = x;
}

pb::Frontend build_frontend(const proxy_draft& p) {
  pb::Frontend fe;
  fe.set_name(p.name);
  fe.set_mode(p.s.mode);
  copy_list(p.binds, fe.mutable_binds());
  *fe.mutable_timeouts() = p.s.timeouts;
  *fe.mutable_options() = p.s.options;
  fe.set_maxconn(p.s.maxconn);
  copy_list(p.s.logs, fe.mutable_logs());
  fe.set_log_global(p.s.log_global);
  copy_list(p.acls, fe.mutable_acls());
  copy_list(p.http_request, fe.mutable_http_request());
  copy_list(p.redirects, fe.mutable_http_request());
  copy_list(p.http_response, fe.mutable_http_response());
  copy_list(p.legacy_request, fe.mutable_legacy_request());
  copy_list(p.legacy_response, fe.mutable_legacy_response());
  copy_list(p.use_backends, fe.mutable_use_backends());
  copy_list(p.s.errorfiles, fe.mutable_errorfiles());
  fe.set_log_format(p.s.log_format);
  fe.set_disabled(p.disabled);
  fe.set_prometheus_exporter(p.prometheus_exporter);
  fe.mutable_origin()->set_file(p.where.file);
  fe.mutable_origin()->set_line(p.where.line);
  fe.set_from_listen(p.kind == section::listen);
  return fe;
}

pb::Backend build_backend(const proxy_draft& p) {
  pb::Backend be;
  be.set_name(p.name);
  be.set_mode(p.s.mode);
  *be.mutable_timeouts() = p.s.timeouts;
  *be.mutable_options() = p.s.options;
  be.set_balance(p.s.balance);
  be.set_balance_arg(p.s.balance_arg);
  be.set_balance_hdr_domain_only(p.s.balance_hdr_domain_only);
  be.set_random_draws(p.s.random_draws);
  be.set_hash_consistent(p.s.hash_consistent);
  be.set_hash_function(p.s.hash_function);
  be.set_balance_uri_whole(p.s.balance_uri_whole);
  be.set_balance_uri_depth(p.s.balance_uri_depth);
  be.set_balance_uri_len(p.s.balance_uri_len);
  be.set_retries(p.s.retries);
  be.set_fullconn(p.s.fullconn);
  for (auto s : p.servers) {
    resolve_server(s);
    *be.add_servers() = std::move(s);
  }
  // A listen section's rules run once, on its frontend side.
  if (p.kind == section::backend) {
    copy_list(p.acls, be.mutable_acls());
    copy_list(p.http_request, be.mutable_http_request());
    copy_list(p.redirects, be.mutable_http_request());
    copy_list(p.http_response, be.mutable_http_response());
    copy_list(p.legacy_request, be.mutable_legacy_request());
    copy_list(p.legacy_response, be.mutable_legacy_response());
  }
  *be.mutable_http_check() = p.s.http_check;
  be.set_http_reuse(p.s.http_reuse);
  copy_list(p.s.errorfiles, be.mutable_errorfiles());
  copy_list(p.s.logs, be.mutable_logs());
  be.set_log_global(p.s.log_global);
  be.set_disabled(p.disabled);
  be.mutable_origin()->set_file(p.where.file);
  be.mutable_origin()->set_line(p.where.line);
  be.set_from_listen(p.kind == section::listen);
  return be;
}

void compile_state(parse_state& st, pb::Config& out) {
  diagnostics& diag = st.diag;
  apply_global_defaults(st.global);
  *out.mutable_global() = st.global;
  for (const auto& f : st.files) out.add_files(f);

  for (auto& p : st.proxies) {
    settle_mode(*p, diag);
    check_exporter_binds(*p, diag);
  }

  std::map<std::string, uint32_t, std::less<>> backend_index;
  std::vector<const proxy_draft*> backend_drafts;
  for (const auto& p : st.proxies) {
    if (!p->is_backend()) continue;
    backend_index.emplace(p->name, static_cast<uint32_t>(out.backends_size()));
    backend_drafts.push_back(p.get());
    *out.add_backends() = build_backend(*p);
  }
  std::vector<std::string_view> backend_names;
  for (const auto& [name, _] : backend_index) backend_names.push_back(name);

  for (const auto& p : st.proxies) {
    for (const auto& acl : p->acls) {
      for (const auto& t : acl.terms()) {
        const std::string& bk = t.sample().name();
        if (t.sample().fetch() == pb::FETCH_NBSRV && !bk.empty() && !backend_index.count(bk)) {
          diag.error({t.origin().file(), t.origin().line()}, "unknown backend '" + bk +
                                                                 "' in 'nbsrv(" + bk + ")'" +
                                                                 did_you_mean(bk, backend_names));
        }
      }
    }
    if (p->s.mode == pb::MODE_TCP) {
      // HAProxy ignores these in TCP proxies, with a warning.
      if (p->s.options.forwardfor().enabled()) {
        diag.warning(p->where, std::string(section_name(p->kind)) + " '" + p->name +
                                   "' is in mode tcp: 'option forwardfor' has no effect");
      }
      if (p->s.options.httplog() && p->is_frontend()) {
        diag.warning(p->where, std::string(section_name(p->kind)) + " '" + p->name +
                                   "' is in mode tcp: 'option httplog' logs as 'option tcplog'");
      }
    }
  }

  for (const auto& p : st.proxies) {
    if (!p->is_frontend()) continue;
    pb::Frontend fe = build_frontend(*p);
    if (p->binds.empty() && !p->bind_seen && !p->disabled) {
      diag.warning(p->where, std::string(section_name(p->kind)) + " '" + p->name +
                                 "' has no 'bind' line, so it receives no traffic");
    }
    bool has_default = false;
    for (const auto& ref : p->backend_refs) {
      auto it = backend_index.find(ref.name);
      if (it == backend_index.end()) {
        diag.error(ref.where, "unknown backend '" + ref.name + "' in '" +
                                  (ref.use_backend_index < 0 ? "default_backend" : "use_backend") +
                                  "'" + did_you_mean(ref.name, backend_names));
        continue;
      }
      const proxy_draft& be = *backend_drafts[it->second];
      if (p->s.mode == pb::MODE_TCP && be.s.mode == pb::MODE_HTTP) {
        diag.error(ref.where, std::string(section_name(p->kind)) + " '" + p->name +
                                  "' is in mode tcp and cannot use backend '" + be.name +
                                  "', which is in mode http");
      } else if (p->s.mode == pb::MODE_HTTP && be.s.mode == pb::MODE_TCP) {
        diag.error(ref.where, std::string(section_name(p->kind)) + " '" + p->name +
                                  "' is in mode http and cannot use backend '" + be.name +
                                  "', which is in mode tcp");
      }
      if (ref.use_backend_index < 0) {
        fe.set_has_default_backend(true);
        fe.set_default_backend(it->second);
        has_default = true;
      } else {
        fe.mutable_use_backends(ref.use_backend_index)->set_backend(it->second);
      }
    }
    // A listen section is its own default backend.
    if (!has_default && p->kind == section::listen) {
      fe.set_has_default_backend(true);
      fe.set_default_backend(backend_index.at(p->name));
    }
    *out.add_frontends() = std::move(fe);
  }
}

void finish(parse_state& st, compile_result& r) {
  compile_state(st, r.config);
  r.diag.sort(st.files);
  if (r.diag.has_errors()) r.config.Clear();
}

void init_state(parse_state& st) {
  st.last_defaults.default_server = haproxy_default_server();
}

}  // namespace

compile_result compile_files(const std::vector<std::string>& paths, const env_lookup& env) {
  compile_result r;
  parse_state st(r.diag, env);
  init_state(st);
  std::vector<std::string> files = expand_config_paths(paths, r.diag);
  if (files.empty() && !r.diag.has_errors()) {
    r.diag.error({}, "no configuration file given (use -f FILE or -f FOLDER)");
  }
  for (const auto& f : files) {
    std::string text;
    if (!read_file(f, text, r.diag)) continue;
    st.files.push_back(f);
    parse_text(st, text, f);
  }
  finish(st, r);
  return r;
}

compile_result compile_text(std::string_view text, const std::string& name, const env_lookup& env,
                            bool files_allowed) {
  compile_result r;
  parse_state st(r.diag, env);
  st.files_allowed = files_allowed;
  init_state(st);
  st.files.push_back(name);
  parse_text(st, text, name);
  finish(st, r);
  return r;
}

}  // namespace sluice::master::config
