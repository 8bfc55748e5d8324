#include "stats/collector.h"

#include <prometheus/text_serializer.h>

#include <array>
#include <cstddef>
#include <sstream>
#include <unordered_map>
#include <utility>

#include "sluice/version.h"

namespace sluice::stats {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;

labels with(labels base, const char* name, std::string value) {
  base.push_back({name, std::move(value)});
  return base;
}

double seconds(uint64_t us) {
  return static_cast<double>(us) / 1e6;
}
double seconds_from_ms(uint64_t ms) {
  return static_cast<double>(ms) / 1e3;
}

// Families in the order they are first used, each found again by name.
class family_set {
 public:
  explicit family_set(std::string prefix) : prefix_(std::move(prefix)) {}

  void gauge(std::string_view name, std::string_view help, labels l, double v) {
    add(name, MetricType::Gauge, help, std::move(l)).gauge.value = v;
  }
  void counter(std::string_view name, std::string_view help, labels l, double v) {
    add(name, MetricType::Counter, help, std::move(l)).counter.value = v;
  }
  // One series per state, the current one valued 1: what promex 2.4+ does, so a dashboard
  // selects `{state="UP"}` instead of decoding numbers.
  template <size_t N>
  void states(std::string_view name, std::string_view help, const labels& l,
              const std::array<const char*, N>& names, std::string_view current) {
    for (const char* s : names) gauge(name, help, with(l, "state", s), current == s ? 1 : 0);
  }
  void histogram(std::string_view name, std::string_view help, labels l,
                 const histogram_values& h) {
    ClientMetric& m = add(name, MetricType::Histogram, help, std::move(l));
    uint64_t cumulative = 0;
    // The +Inf bucket is written by the serializer from sample_count.
    for (size_t i = 0; i < bucket_bounds_us.size(); ++i) {
      cumulative += h.buckets[i];
      m.histogram.bucket.push_back({cumulative, seconds(bucket_bounds_us[i])});
    }
    m.histogram.sample_count = h.count();
    m.histogram.sample_sum = seconds(h.sum_us);
  }

  std::vector<MetricFamily> take() { return std::move(families_); }

 private:
  ClientMetric& add(std::string_view name, MetricType type, std::string_view help, labels l) {
    std::string full = prefix_ + "_" + std::string(name);
    auto [it, fresh] = index_.try_emplace(full, families_.size());
    if (fresh) families_.push_back(MetricFamily{full, std::string(help), type, {}});
    MetricFamily& f = families_[it->second];
    f.metric.emplace_back();
    f.metric.back().label = std::move(l);
    return f.metric.back();
  }

  std::string prefix_;
  std::vector<MetricFamily> families_;
  std::unordered_map<std::string, size_t> index_;
};

constexpr std::array<const char*, 2> proxy_states = {"DOWN", "UP"};
constexpr std::array<const char*, 5> server_states = {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"};
// The check results the server table lets us tell apart (HAProxy's short names).
constexpr std::array<const char*, 4> check_states = {"L4OK", "L4CON", "L7OK", "L7STS"};

// What the exporter needs of one server, from the shared table or, without a slot, from
// the config.
struct server_view {
  const sluice::config::Server* config = nullptr;
  const health::server_slot* slot = nullptr;
  health::op_state op = health::op_state::up;
  health::admin_state admin = health::admin_state::ready;
  uint32_t weight = 0;
  bool usable = false;
};

server_view view_of(const sluice::config::Server& srv, const health::server_slot* slot) {
  server_view v;
  v.config = &srv;
  v.slot = slot;
  if (slot != nullptr) {
    v.op = static_cast<health::op_state>(slot->op.load(std::memory_order_relaxed));
    v.admin = static_cast<health::admin_state>(slot->admin.load(std::memory_order_relaxed));
    v.weight = slot->weight.load(std::memory_order_relaxed);
    v.usable = health::accepts_new_traffic(*slot);
  } else {
    v.admin = srv.disabled() ? health::admin_state::maint : health::admin_state::ready;
    v.weight = srv.weight();
    v.usable = !srv.disabled() && srv.weight() > 0;
  }
  return v;
}

// HAProxy's promex_srv_status(): a server that runs (even with failing checks) is UP, or
// DRAIN when drained; MAINT wins over everything. Sluice has no soft-stop state, so NOLB
// stays 0.
const char* server_state(const server_view& s) {
  if (s.admin == health::admin_state::maint) return "MAINT";
  if (s.op == health::op_state::up || s.op == health::op_state::going_down) {
    return s.admin == health::admin_state::drain ? "DRAIN" : "UP";
  }
  return "DOWN";
}

// The table keeps the last HTTP status and whether the last check passed (an up or
// going-up server passed it), not why a check failed: a failure with an HTTP status is
// L7STS, one without (refused, timed out, unreadable) is reported as L4CON.
const char* check_state(const server_view& s, bool http_check) {
  if (s.slot == nullptr || s.slot->checked.load(std::memory_order_relaxed) == 0) return "";
  bool passed = s.op == health::op_state::up || s.op == health::op_state::going_up;
  if (passed) return http_check ? "L7OK" : "L4OK";
  return s.slot->check_status.load(std::memory_order_relaxed) != 0 ? "L7STS" : "L4CON";
}

double average_seconds(const histogram_values& h) {
  uint64_t n = h.count();
  return n == 0 ? 0.0 : seconds(h.sum_us) / static_cast<double>(n);
}

class collector {
 public:
  collector(const sluice::config::Config& cfg, const counter_table& counters,
            const health::table& servers, const process_info& process,
            const collect_options& options, uint64_t now_ms)
      : cfg_(cfg),
        counters_(counters),
        process_(process),
        options_(options),
        now_ms_(now_ms),
        out_(metric_prefix(cfg)) {
    // One pass over each table, so a scrape costs O(objects) and not O(objects^2).
    if (counters.valid()) {
      for (uint32_t i = 0, n = counters.used(); i < n; ++i) objects_.emplace(counters.key(i), i);
    }
    if (servers.valid()) {
      for (uint32_t i = 0, n = servers.used(); i < n; ++i) {
        const health::server_slot& s = servers.at(i);
        if (s.in_use.load(std::memory_order_acquire) != 0) slots_.emplace(s.key, &s);
      }
    }
  }

  std::vector<MetricFamily> run() {
    if (options_.scopes & scope_global) process();
    if (options_.scopes & scope_frontend) {
      for (const auto& fe : cfg_.frontends()) frontend(fe);
    }
    if (options_.scopes & (scope_backend | scope_server)) {
      for (const auto& be : cfg_.backends()) backend(be);
    }
    return out_.take();
  }

 private:
  counter_values values(const std::string& key) const {
    auto it = objects_.find(key);
    return it == objects_.end() ? counter_values{} : counters_.read(it->second);
  }

  void process() {
    labels none;
    counter_values v = values(std::string(process_key));
    out_.gauge("process_build_info", "Build information, in the version label; always 1.",
               {{"version", sluice::version}}, 1);
    out_.gauge("process_start_time_seconds",
               "Start time of the master, in seconds since the epoch.", none,
               seconds_from_ms(process_.start_time_ms));
    uint64_t up_ms = process_.start_time_ms != 0 && now_ms_ > process_.start_time_ms
                         ? now_ms_ - process_.start_time_ms
                         : 0;
    out_.gauge("process_uptime_seconds", "How long the master has been running, in seconds.", none,
               seconds_from_ms(up_ms));
    out_.gauge("process_current_connections", "Connections from downstream open now.", none,
               static_cast<double>(v.current_sessions()));
    out_.counter("process_connections_total", "Connections accepted from downstream.", none,
                 v.sessions);
    out_.counter("process_requests_total", "HTTP requests received from downstream.", none,
                 v.http_requests);
    out_.counter("process_reloads_total", "Reloads that started a new generation.", none,
                 process_.reloads);
    out_.counter("process_reload_failures_total",
                 "Reloads refused (invalid configuration or a generation that did not start).",
                 none, process_.reload_failures);
    out_.counter("process_worker_restarts_total",
                 "Workers replaced after they exited unexpectedly.", none,
                 process_.worker_restarts);
    out_.gauge("process_workers", "Worker processes of the serving generation.", none,
               static_cast<double>(process_.workers));
    out_.gauge("process_generation",
               "Number of the serving generation (1 at start, +1 per reload).", none,
               static_cast<double>(process_.generation));
  }

  void http_responses(std::string_view name, const labels& l, const counter_values& v) {
    for (size_t c = 0; c < response_classes; ++c) {
      out_.counter(name, "HTTP responses, per status class in the code label.",
                   with(l, "code", response_class_names[c]), v.http_responses[c]);
    }
  }

  void frontend(const sluice::config::Frontend& fe) {
    labels l = {{"proxy", fe.name()}};
    counter_values v = values(frontend_key(fe.name()));
    bool http = fe.mode() == sluice::config::MODE_HTTP;
    out_.states("frontend_status", "Current status of the frontend, per state label value.", l,
                proxy_states, fe.disabled() ? "DOWN" : "UP");
    out_.gauge("frontend_current_sessions", "Sessions open now.", l,
               static_cast<double>(v.current_sessions()));
    out_.counter("frontend_sessions_total", "Sessions accepted.", l, v.sessions);
    out_.counter("frontend_bytes_in_total", "Bytes received from downstream.", l, v.bytes_in);
    out_.counter("frontend_bytes_out_total", "Bytes sent to downstream.", l, v.bytes_out);
    if (http) {
      out_.counter("frontend_http_requests_total", "HTTP requests received.", l, v.http_requests);
      http_responses("frontend_http_responses_total", l, v);
    }
    out_.counter("frontend_request_errors_total",
                 "Requests rejected as invalid (bad syntax, too large, smuggling attempts).", l,
                 v.request_errors);
    out_.counter("frontend_requests_denied_total", "Requests denied by a rule.", l,
                 v.requests_denied);
    if (has_tls(fe)) {
      out_.counter("frontend_tls_handshakes_total", "TLS handshakes completed.", l,
                   v.tls_handshakes);
      out_.counter("frontend_tls_resumptions_total",
                   "TLS handshakes that resumed a session (a ticket).", l, v.tls_resumptions);
      out_.counter("frontend_tls_handshake_failures_total",
                   "TLS handshakes that failed or timed out.", l, v.tls_handshake_failures);
    }
  }

  static bool has_tls(const sluice::config::Frontend& fe) {
    for (const auto& b : fe.binds()) {
      if (b.ssl()) return true;
    }
    return false;
  }

  // The counters backends and servers share, under "backend_" or "server_".
  void upstream_counters(const std::string& scope, const labels& l, const counter_values& v,
                         bool http) {
    out_.gauge(scope + "current_queue", "Requests waiting in the queue now.", l,
               static_cast<double>(v.current_queue()));
    out_.gauge(scope + "current_sessions", "Sessions open now.", l,
               static_cast<double>(v.current_sessions()));
    out_.counter(scope + "sessions_total", "Sessions handled.", l, v.sessions);
    out_.counter(scope + "bytes_in_total", "Bytes received from upstream.", l, v.bytes_in);
    out_.counter(scope + "bytes_out_total", "Bytes sent to upstream.", l, v.bytes_out);
    if (http) {
      out_.counter(scope + "http_requests_total", "HTTP requests sent upstream.", l,
                   v.http_requests);
      http_responses(scope + "http_responses_total", l, v);
    }
    out_.counter(scope + "connection_attempts_total", "Connection attempts to upstream.", l,
                 v.connection_attempts);
    out_.counter(scope + "connection_errors_total", "Failed connection attempts to upstream.", l,
                 v.connection_errors);
    out_.counter(scope + "connection_reuses_total",
                 "Requests sent over an idle upstream connection taken from the pool.", l,
                 v.connection_reuses);
    out_.counter(scope + "response_errors_total",
                 "Responses from upstream that were aborted or invalid.", l, v.response_errors);
    out_.counter(scope + "retry_warnings_total", "Connection attempts retried.", l, v.retries);
    out_.counter(scope + "redispatch_warnings_total",
                 "Requests sent to another server after a failed attempt (option redispatch).", l,
                 v.redispatches);
  }

  void latency(const std::string& scope, const labels& l, const counter_values& v) {
    struct timing {
      const char* name;
      const char* what;
      const histogram_values* h;
    };
    const timing timings[] = {
        {"queue", "spent in the queue", &v.queue_time},
        {"connect", "to connect to upstream", &v.connect_time},
        {"response", "from the request sent to the response headers", &v.response_time},
        {"total", "from accept to the end of the response", &v.total_time},
    };
    for (const timing& t : timings) {
      out_.gauge(scope + t.name + "_time_average_seconds",
                 std::string("Average time ") + t.what + ", in seconds, since the start.", l,
                 average_seconds(*t.h));
    }
    for (const timing& t : timings) {
      out_.histogram(scope + t.name + "_time_seconds",
                     std::string("Time ") + t.what + ", in seconds.", l, *t.h);
    }
  }

  void backend(const sluice::config::Backend& be) {
    labels l = {{"proxy", be.name()}};
    bool http = be.mode() == sluice::config::MODE_HTTP;
    std::vector<server_view> views;
    uint32_t active = 0, backup = 0, active_weight = 0, backup_weight = 0;
    for (const auto& srv : be.servers()) {
      auto it = slots_.find(be.name() + "/" + srv.name());
      server_view s = view_of(srv, it == slots_.end() ? nullptr : it->second);
      if (s.usable) {
        (srv.backup() ? backup : active) += 1;
        (srv.backup() ? backup_weight : active_weight) += s.weight;
      }
      views.push_back(s);
    }
    if (options_.scopes & scope_backend) {
      counter_values v = values(backend_key(be.name()));
      // As HAProxy: backup servers carry the load only when no active one can.
      uint32_t weight = active > 0 ? active_weight : backup_weight;
      out_.states("backend_status", "Current status of the backend, per state label value.", l,
                  proxy_states, weight > 0 || be.servers().empty() ? "UP" : "DOWN");
      out_.gauge("backend_active_servers", "Active servers that can take new traffic.", l, active);
      out_.gauge("backend_backup_servers", "Backup servers that can take new traffic.", l, backup);
      out_.gauge("backend_weight", "Total weight of the servers that carry the load.", l, weight);
      upstream_counters("backend_", l, v, http);
      latency("backend_", l, v);
    }
    if (options_.scopes & scope_server) {
      for (const server_view& s : views) server(be, s, http);
    }
  }

  void server(const sluice::config::Backend& be, const server_view& s, bool http) {
    if (options_.no_maint && s.admin == health::admin_state::maint) return;
    const sluice::config::Server& srv = *s.config;
    labels l = {{"proxy", be.name()}, {"server", srv.name()}};
    counter_values v = values(server_key(be.name(), srv.name()));
    out_.states("server_status", "Current status of the server, per state label value.", l,
                server_states, server_state(s));
    out_.gauge("server_weight", "Effective weight of the server.", l, s.weight);
    upstream_counters("server_", l, v, http);
    if (srv.check()) {
      out_.states("server_check_status", "Status of the last health check, per state label value.",
                  l, check_states, check_state(s, be.http_check().enabled()));
      uint32_t duration_ms =
          s.slot != nullptr ? s.slot->check_duration_ms.load(std::memory_order_relaxed) : 0;
      out_.gauge("server_check_duration_seconds", "Duration of the last health check, in seconds.",
                 l, seconds_from_ms(duration_ms));
      if (be.http_check().enabled()) {
        uint32_t code =
            s.slot != nullptr ? s.slot->check_status.load(std::memory_order_relaxed) : 0;
        out_.gauge("server_check_code", "HTTP status of the last health check (0: none).", l, code);
      }
    }
    out_.counter("server_check_failures_total", "Failed health checks while the server was up.", l,
                 v.check_failures);
    out_.counter("server_check_up_down_total", "Transitions of the server from up to down.", l,
                 v.check_up_down);
    out_.counter("server_downtime_seconds_total", "Time the server has been down, in seconds.", l,
                 seconds_from_ms(v.downtime_ms));
    uint64_t since = s.slot != nullptr ? s.slot->last_change_ms.load(std::memory_order_relaxed) : 0;
    if (since == 0) since = process_.start_time_ms;
    out_.gauge("server_check_last_change_seconds",
               "Seconds since the server last changed state (or since the start).", l,
               since != 0 && now_ms_ > since ? seconds_from_ms(now_ms_ - since) : 0);
    latency("server_", l, v);
  }

  const sluice::config::Config& cfg_;
  const counter_table& counters_;
  const process_info& process_;
  const collect_options& options_;
  uint64_t now_ms_;
  family_set out_;
  std::unordered_map<std::string_view, uint32_t> objects_;
  std::unordered_map<std::string, const health::server_slot*> slots_;
};

}  // namespace

std::optional<collect_options> parse_query(std::string_view query) {
  collect_options o;
  bool any_scope = false;
  uint32_t scopes = 0;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (key == "no-maint") {
      o.no_maint = true;
    } else if (key == "scope") {
      any_scope = true;
      if (value.empty()) continue;
      if (value == "*") {
        scopes |= all_scopes;
      } else if (value == "global") {
        scopes |= scope_global;
      } else if (value == "frontend") {
        scopes |= scope_frontend;
      } else if (value == "backend") {
        scopes |= scope_backend;
      } else if (value == "server") {
        scopes |= scope_server;
      } else if (value != "listener" && value != "sticktable") {
        return std::nullopt;
      }
    }
  }
  o.scopes = any_scope ? scopes : all_scopes;
  return o;
}

std::string metric_prefix(const sluice::config::Config& cfg) {
  const std::string& p = cfg.global().metrics_prefix();
  if (p.empty()) return "sluice";
  // Metric names allow [a-zA-Z_:][a-zA-Z0-9_:]*; anything else would make the whole scrape
  // unparsable, so it becomes '_'.
  std::string out = p;
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) out[i] = '_';
  }
  return out;
}

std::vector<prometheus::MetricFamily> collect(const sluice::config::Config& cfg,
                                              const counter_table& counters,
                                              const health::table& servers,
                                              const process_info& process,
                                              const collect_options& options, uint64_t now_ms) {
  return collector(cfg, counters, servers, process, options, now_ms).run();
}

std::string render_text(const std::vector<prometheus::MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace sluice::stats
