#include "stats/collector.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::stats {
namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;
using std::chrono::microseconds;
using label_map = std::map<std::string, std::string>;

constexpr uint64_t start_ms = 1700000000000;
constexpr uint64_t now_ms = start_ms + 90000;

struct memory {
  explicit memory(size_t n) : words((n + 7) / 8 + 8) {}
  void* data() { return words.data(); }
  std::vector<uint64_t> words;
};

void add_server(config::Backend* be, const std::string& name, bool check, bool backup = false,
                bool disabled = false) {
  config::Server* s = be->add_servers();
  s->set_name(name);
  s->set_address("127.0.0.1");
  s->set_port(8080);
  s->set_weight(1);
  s->set_check(check);
  s->set_backup(backup);
  s->set_disabled(disabled);
}

// A config with one of each interesting case, its shared tables filled as workers and the
// health process would.
class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest()
      : counter_mem_(counter_table::bytes_for(32, 4)),
        health_mem_(health::table::bytes_for(16) + 64) {
    config::Frontend* www = cfg_.add_frontends();
    www->set_name("www");
    www->set_mode(config::MODE_HTTP);
    config::Frontend* db = cfg_.add_frontends();
    db->set_name("db_in");
    db->set_mode(config::MODE_TCP);
    config::Frontend* off = cfg_.add_frontends();
    off->set_name("off");
    off->set_mode(config::MODE_HTTP);
    off->set_disabled(true);

    config::Backend* web = cfg_.add_backends();
    web->set_name("web");
    web->set_mode(config::MODE_HTTP);
    web->mutable_http_check()->set_enabled(true);
    add_server(web, "a", true);
    add_server(web, "b", true);
    add_server(web, "c", false, /*backup=*/true);
    add_server(web, "d", false, false, /*disabled=*/true);
    add_server(web, "e", true);
    config::Backend* empty = cfg_.add_backends();
    empty->set_name("empty");
    empty->set_mode(config::MODE_HTTP);
    config::Backend* db_be = cfg_.add_backends();
    db_be->set_name("db");
    db_be->set_mode(config::MODE_TCP);
    add_server(db_be, "x", true);

    counters_ = counter_table::format(counter_mem_.data(), 32, 4);
    servers_ = health::table::format(health_mem_.data(), 16);

    slot("web/a", health::op_state::up, health::admin_state::ready, 200);
    slot("web/b", health::op_state::down, health::admin_state::ready, 503);
    slot("web/c", health::op_state::up, health::admin_state::ready, 0, false);
    slot("web/d", health::op_state::up, health::admin_state::maint, 0, false);
    slot("web/e", health::op_state::going_down, health::admin_state::drain, 200);
    slot("db/x", health::op_state::down, health::admin_state::ready, 0);

    uint32_t p = *counters_.find_or_add(process_key, object_kind::process);
    add(counters_.block(p, 0).sessions, 20);
    add(counters_.block(p, 0).sessions_ended, 17);
    add(counters_.block(p, 1).http_requests, 12);

    uint32_t fe = *counters_.find_or_add(frontend_key("www"), object_kind::frontend);
    add(counters_.block(fe, 0).http_requests, 5);
    add(counters_.block(fe, 1).http_requests, 7);
    add(counters_.block(fe, 0).http_responses[response_class(200)], 10);
    add(counters_.block(fe, 1).http_responses[response_class(404)], 2);
    add(counters_.block(fe, 1).sessions, 4);
    add(counters_.block(fe, 1).sessions_ended, 1);
    add(counters_.block(fe, 1).request_errors, 3);

    uint32_t db_fe = *counters_.find_or_add(frontend_key("db_in"), object_kind::frontend);
    add(counters_.block(db_fe, 2).sessions, 9);

    uint32_t be = *counters_.find_or_add(backend_key("web"), object_kind::backend);
    counter_block& b = counters_.block(be, 2);
    add(b.http_requests, 12);
    add(b.connection_attempts, 12);
    add(b.connection_reuses, 4);
    add(b.retries, 1);
    histogram::observe(b.response_time, microseconds(400));       // <= 0.5 ms
    histogram::observe(b.response_time, microseconds(3000));      // <= 5 ms
    histogram::observe(b.response_time, microseconds(3000));      // <= 5 ms
    histogram::observe(b.response_time, microseconds(60000000));  // +Inf
    histogram::observe(b.queue_time, microseconds(1000));
    histogram::observe(b.queue_time, microseconds(3000));

    uint32_t sa = *counters_.find_or_add(server_key("web", "a"), object_kind::server);
    add(counters_.block(sa, 0).http_responses[response_class(200)], 6);
    add(counters_.block(sa, 3).check_failures, 2);
    add(counters_.block(sa, 3).check_up_down, 1);
    add(counters_.block(sa, 3).downtime_ms, 1500);

    process_.start_time_ms = start_ms;
    process_.generation = 3;
    process_.workers = 2;
    process_.reloads = 2;
    process_.reload_failures = 1;
    process_.worker_restarts = 5;
  }

  void slot(const std::string& key, health::op_state op, health::admin_state admin,
            uint32_t check_status, bool checked = true) {
    health::server_slot* s = servers_.find_or_add(key, 1);
    ASSERT_NE(s, nullptr);
    s->op.store(static_cast<uint32_t>(op));
    s->admin.store(static_cast<uint32_t>(admin));
    s->check_status.store(check_status);
    s->checked.store(checked ? 1 : 0);
    s->check_duration_ms.store(12);
    s->last_change_ms.store(now_ms - 30000);
  }

  std::vector<MetricFamily> run(const collect_options& o = {}) {
    return collect(cfg_, counters_, servers_, process_, o, now_ms);
  }

  config::Config cfg_;
  memory counter_mem_;
  memory health_mem_;
  counter_table counters_;
  health::table servers_;
  process_info process_;
};

const MetricFamily* family(const std::vector<MetricFamily>& fs, const std::string& name) {
  for (const auto& f : fs) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool matches(const prometheus::ClientMetric& m, const label_map& want) {
  label_map have;
  for (const auto& l : m.label) have[l.name] = l.value;
  return have == want;
}

// The value of the one series of `name` whose labels are exactly `labels`.
std::optional<double> value(const std::vector<MetricFamily>& fs, const std::string& name,
                            const label_map& labels) {
  const MetricFamily* f = family(fs, name);
  if (f == nullptr) return std::nullopt;
  std::optional<double> found;
  for (const auto& m : f->metric) {
    if (!matches(m, labels)) continue;
    if (found) return std::nullopt;  // a duplicate series is a bug
    switch (f->type) {
      case MetricType::Counter: found = m.counter.value; break;
      case MetricType::Gauge: found = m.gauge.value; break;
      default: found = -1;
    }
  }
  return found;
}

size_t series(const std::vector<MetricFamily>& fs, const std::string& name,
              const label_map& subset) {
  const MetricFamily* f = family(fs, name);
  if (f == nullptr) return 0;
  size_t n = 0;
  for (const auto& m : f->metric) {
    bool all = true;
    for (const auto& [k, v] : subset) {
      bool hit = false;
      for (const auto& l : m.label) hit = hit || (l.name == k && l.value == v);
      all = all && hit;
    }
    n += all ? 1 : 0;
  }
  return n;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

TEST_F(CollectorTest, FrontendCountersFollowPromex) {
  auto fs = run();
  EXPECT_EQ(value(fs, "sluice_frontend_http_requests_total", {{"proxy", "www"}}), 12);
  EXPECT_EQ(value(fs, "sluice_frontend_http_responses_total", {{"proxy", "www"}, {"code", "2xx"}}),
            10);
  EXPECT_EQ(value(fs, "sluice_frontend_http_responses_total", {{"proxy", "www"}, {"code", "4xx"}}),
            2);
  EXPECT_EQ(
      value(fs, "sluice_frontend_http_responses_total", {{"proxy", "www"}, {"code", "other"}}), 0);
  EXPECT_EQ(series(fs, "sluice_frontend_http_responses_total", {{"proxy", "www"}}), 6u);
  EXPECT_EQ(value(fs, "sluice_frontend_current_sessions", {{"proxy", "www"}}), 3);
  EXPECT_EQ(value(fs, "sluice_frontend_sessions_total", {{"proxy", "www"}}), 4);
  EXPECT_EQ(value(fs, "sluice_frontend_request_errors_total", {{"proxy", "www"}}), 3);
  EXPECT_EQ(value(fs, "sluice_frontend_requests_denied_total", {{"proxy", "www"}}), 0);
  // A TCP frontend has no HTTP series, as in HAProxy, but its sessions count.
  EXPECT_EQ(series(fs, "sluice_frontend_http_requests_total", {{"proxy", "db_in"}}), 0u);
  EXPECT_EQ(value(fs, "sluice_frontend_sessions_total", {{"proxy", "db_in"}}), 9);
  // A frontend with no counters yet reads zero.
  EXPECT_EQ(value(fs, "sluice_frontend_bytes_in_total", {{"proxy", "off"}}), 0);
  EXPECT_EQ(value(fs, "sluice_frontend_status", {{"proxy", "www"}, {"state", "UP"}}), 1);
  EXPECT_EQ(value(fs, "sluice_frontend_status", {{"proxy", "www"}, {"state", "DOWN"}}), 0);
  EXPECT_EQ(value(fs, "sluice_frontend_status", {{"proxy", "off"}, {"state", "DOWN"}}), 1);
}

TEST_F(CollectorTest, ServerStatusIsOneSeriesPerState) {
  auto fs = run();
  const std::map<std::string, std::string> expected = {
      {"a", "UP"}, {"b", "DOWN"}, {"c", "UP"}, {"d", "MAINT"}, {"e", "DRAIN"}};
  for (const auto& [server, state] : expected) {
    EXPECT_EQ(series(fs, "sluice_server_status", {{"proxy", "web"}, {"server", server}}), 5u);
    for (const char* s : {"UP", "DOWN", "MAINT", "DRAIN", "NOLB"}) {
      EXPECT_EQ(
          value(fs, "sluice_server_status", {{"proxy", "web"}, {"server", server}, {"state", s}}),
          state == s ? 1 : 0)
          << server << " " << s;
    }
  }
}

TEST_F(CollectorTest, CheckStatusForCheckedServersOnly) {
  auto fs = run();
  auto check = [&](const std::string& be, const std::string& srv, const std::string& state) {
    return value(fs, "sluice_server_check_status",
                 {{"proxy", be}, {"server", srv}, {"state", state}});
  };
  EXPECT_EQ(check("web", "a", "L7OK"), 1);
  EXPECT_EQ(check("web", "a", "L4CON"), 0);
  EXPECT_EQ(check("web", "b", "L7STS"), 1);
  EXPECT_EQ(check("web", "e", "L7OK"), 0);  // going down: its last check failed
  EXPECT_EQ(check("web", "e", "L7STS"), 1);
  EXPECT_EQ(check("db", "x", "L4CON"), 1);
  EXPECT_EQ(series(fs, "sluice_server_check_status", {{"server", "c"}}), 0u);
  EXPECT_EQ(value(fs, "sluice_server_check_code", {{"proxy", "web"}, {"server", "b"}}), 503);
  EXPECT_EQ(series(fs, "sluice_server_check_code", {{"proxy", "db"}}), 0u);  // TCP check
  EXPECT_EQ(value(fs, "sluice_server_check_duration_seconds", {{"proxy", "web"}, {"server", "a"}}),
            0.012);
  EXPECT_EQ(value(fs, "sluice_server_check_failures_total", {{"proxy", "web"}, {"server", "a"}}),
            2);
  EXPECT_EQ(value(fs, "sluice_server_check_up_down_total", {{"proxy", "web"}, {"server", "a"}}), 1);
  EXPECT_EQ(value(fs, "sluice_server_downtime_seconds_total", {{"proxy", "web"}, {"server", "a"}}),
            1.5);
  EXPECT_EQ(
      value(fs, "sluice_server_check_last_change_seconds", {{"proxy", "web"}, {"server", "a"}}),
      30);
  EXPECT_EQ(value(fs, "sluice_server_http_responses_total",
                  {{"proxy", "web"}, {"server", "a"}, {"code", "2xx"}}),
            6);
}

TEST_F(CollectorTest, BackendServersAndStatus) {
  auto fs = run();
  // a is up; e is drained and b down: they take no new traffic; c is a usable backup.
  EXPECT_EQ(value(fs, "sluice_backend_active_servers", {{"proxy", "web"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_backup_servers", {{"proxy", "web"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_weight", {{"proxy", "web"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_status", {{"proxy", "web"}, {"state", "UP"}}), 1);
  // As HAProxy, a backend without servers is UP; one whose servers are all down is DOWN.
  EXPECT_EQ(value(fs, "sluice_backend_status", {{"proxy", "empty"}, {"state", "UP"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_status", {{"proxy", "db"}, {"state", "DOWN"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_http_requests_total", {{"proxy", "web"}}), 12);
  EXPECT_EQ(value(fs, "sluice_backend_connection_reuses_total", {{"proxy", "web"}}), 4);
  EXPECT_EQ(value(fs, "sluice_backend_retry_warnings_total", {{"proxy", "web"}}), 1);
  EXPECT_EQ(value(fs, "sluice_backend_queue_time_average_seconds", {{"proxy", "web"}}), 0.002);
  EXPECT_EQ(value(fs, "sluice_backend_connect_time_average_seconds", {{"proxy", "web"}}), 0);
  EXPECT_EQ(series(fs, "sluice_backend_http_requests_total", {{"proxy", "db"}}), 0u);
  EXPECT_EQ(value(fs, "sluice_backend_connection_errors_total", {{"proxy", "db"}}), 0);
}

TEST_F(CollectorTest, HistogramsHaveCumulativeBuckets) {
  auto fs = run();
  const MetricFamily* f = family(fs, "sluice_backend_response_time_seconds");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, MetricType::Histogram);
  const prometheus::ClientMetric* web = nullptr;
  for (const auto& m : f->metric) {
    if (matches(m, {{"proxy", "web"}})) web = &m;
  }
  ASSERT_NE(web, nullptr);
  const auto& h = web->histogram;
  EXPECT_EQ(h.sample_count, 4u);
  EXPECT_DOUBLE_EQ(h.sample_sum, 60.0064);
  ASSERT_EQ(h.bucket.size(), bucket_bounds_us.size());
  EXPECT_DOUBLE_EQ(h.bucket.front().upper_bound, 0.0005);
  EXPECT_DOUBLE_EQ(h.bucket.back().upper_bound, 30);
  uint64_t previous = 0;
  for (const auto& b : h.bucket) {
    EXPECT_GE(b.cumulative_count, previous);
    previous = b.cumulative_count;
  }
  EXPECT_EQ(h.bucket[0].cumulative_count, 1u);  // le 0.0005
  EXPECT_EQ(h.bucket[2].cumulative_count, 1u);  // le 0.0025
  EXPECT_EQ(h.bucket[3].cumulative_count, 3u);  // le 0.005
  EXPECT_EQ(h.bucket.back().cumulative_count, 3u);
  std::string text = render_text(fs);
  EXPECT_NE(text.find("sluice_backend_response_time_seconds_bucket{proxy=\"web\",le=\"+Inf\"} 4"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_backend_response_time_seconds_bucket{proxy=\"web\",le=\"0.005\"} 3"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_backend_response_time_seconds_count{proxy=\"web\"} 4"),
            std::string::npos);
  EXPECT_NE(family(fs, "sluice_server_total_time_seconds"), nullptr);
}

TEST_F(CollectorTest, ProcessMetrics) {
  auto fs = run();
  EXPECT_EQ(value(fs, "sluice_process_connections_total", {}), 20);
  EXPECT_EQ(value(fs, "sluice_process_current_connections", {}), 3);
  EXPECT_EQ(value(fs, "sluice_process_requests_total", {}), 12);
  EXPECT_EQ(value(fs, "sluice_process_reloads_total", {}), 2);
  EXPECT_EQ(value(fs, "sluice_process_reload_failures_total", {}), 1);
  EXPECT_EQ(value(fs, "sluice_process_worker_restarts_total", {}), 5);
  EXPECT_EQ(value(fs, "sluice_process_workers", {}), 2);
  EXPECT_EQ(value(fs, "sluice_process_generation", {}), 3);
  EXPECT_EQ(value(fs, "sluice_process_start_time_seconds", {}), 1700000000);
  EXPECT_EQ(value(fs, "sluice_process_uptime_seconds", {}), 90);
  EXPECT_EQ(series(fs, "sluice_process_build_info", {}), 1u);
}

TEST_F(CollectorTest, NamesHelpAndTotalSuffixes) {
  auto fs = run();
  ASSERT_FALSE(fs.empty());
  for (const auto& f : fs) {
    EXPECT_EQ(f.name.rfind("sluice_", 0), 0u) << f.name;
    EXPECT_FALSE(f.help.empty()) << f.name;
    EXPECT_FALSE(f.metric.empty()) << f.name;
    EXPECT_EQ(f.type == MetricType::Counter, ends_with(f.name, "_total")) << f.name;
    for (const char* bad : {"_count", "_sum", "_bucket"}) {
      EXPECT_FALSE(ends_with(f.name, bad)) << f.name;
    }
  }
  // Family names are unique.
  std::map<std::string, int> seen;
  for (const auto& f : fs) EXPECT_EQ(++seen[f.name], 1) << f.name;
}

TEST_F(CollectorTest, MetricsPrefixFromTheConfig) {
  cfg_.mutable_global()->set_metrics_prefix("haproxy");
  auto fs = run();
  EXPECT_EQ(value(fs, "haproxy_frontend_http_requests_total", {{"proxy", "www"}}), 12);
  for (const auto& f : fs) EXPECT_EQ(f.name.rfind("haproxy_", 0), 0u) << f.name;
  cfg_.mutable_global()->set_metrics_prefix("my-lb");
  EXPECT_EQ(metric_prefix(cfg_), "my_lb");
  cfg_.mutable_global()->set_metrics_prefix("9lb");
  EXPECT_EQ(metric_prefix(cfg_), "_lb");
}

TEST(ParseQuery, ScopesAsHAProxy) {
  EXPECT_EQ(parse_query("")->scopes, all_scopes);
  EXPECT_EQ(parse_query("foo=bar")->scopes, all_scopes);
  EXPECT_EQ(parse_query("scope=backend")->scopes, uint32_t{scope_backend});
  EXPECT_EQ(parse_query("scope=global&scope=server")->scopes, scope_global | scope_server);
  EXPECT_EQ(parse_query("scope=")->scopes, 0u);
  EXPECT_EQ(parse_query("scope=&scope=frontend")->scopes, uint32_t{scope_frontend});
  EXPECT_EQ(parse_query("scope=*")->scopes, all_scopes);
  EXPECT_EQ(parse_query("scope=listener")->scopes, 0u);
  EXPECT_EQ(parse_query("scope=sticktable&scope=backend")->scopes, uint32_t{scope_backend});
  EXPECT_EQ(parse_query("scope=bogus"), std::nullopt);
  EXPECT_FALSE(parse_query("scope=server")->no_maint);
  EXPECT_TRUE(parse_query("scope=server&no-maint")->no_maint);
}

TEST_F(CollectorTest, ScopeSelectsFamilies) {
  auto only = [&](uint32_t scopes, const std::string& infix) {
    collect_options o;
    o.scopes = scopes;
    auto fs = run(o);
    EXPECT_FALSE(fs.empty()) << infix;
    for (const auto& f : fs) EXPECT_EQ(f.name.rfind("sluice_" + infix + "_", 0), 0u) << f.name;
  };
  only(scope_global, "process");
  only(scope_frontend, "frontend");
  only(scope_backend, "backend");
  only(scope_server, "server");
  collect_options none;
  none.scopes = 0;
  EXPECT_TRUE(run(none).empty());
  EXPECT_EQ(run().size(), run(*parse_query("scope=*")).size());
}

TEST_F(CollectorTest, NoMaintLeavesOutServersInMaintenance) {
  auto all = run();
  auto fs = run(*parse_query("no-maint"));
  EXPECT_EQ(series(all, "sluice_server_status", {{"server", "d"}}), 5u);
  EXPECT_EQ(series(fs, "sluice_server_status", {{"server", "d"}}), 0u);
  EXPECT_EQ(series(fs, "sluice_server_status", {{"server", "a"}}), 5u);
}

TEST_F(CollectorTest, TotalsDoNotMoveWhenASlotIsFolded) {
  auto before = run();
  counters_.fold(1);
  counters_.fold(2);
  auto after = run();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i].type == MetricType::Gauge) continue;
    EXPECT_EQ(render_text({before[i]}), render_text({after[i]})) << before[i].name;
  }
  EXPECT_EQ(value(after, "sluice_frontend_http_requests_total", {{"proxy", "www"}}), 12);
  // The sessions the folded worker left open are gone with it.
  EXPECT_EQ(value(before, "sluice_frontend_current_sessions", {{"proxy", "www"}}), 3);
  EXPECT_EQ(value(after, "sluice_frontend_current_sessions", {{"proxy", "www"}}), 0);
}

TEST_F(CollectorTest, EmptyTablesReadAsZero) {
  auto fs = collect(cfg_, counter_table(), health::table(), process_info{}, {}, now_ms);
  EXPECT_EQ(value(fs, "sluice_frontend_http_requests_total", {{"proxy", "www"}}), 0);
  // Without the server table, state comes from the config: d is disabled.
  EXPECT_EQ(
      value(fs, "sluice_server_status", {{"proxy", "web"}, {"server", "d"}, {"state", "MAINT"}}),
      1);
  EXPECT_EQ(value(fs, "sluice_server_status", {{"proxy", "web"}, {"server", "a"}, {"state", "UP"}}),
            1);
  EXPECT_EQ(value(fs, "sluice_process_uptime_seconds", {}), 0);
}

TEST_F(CollectorTest, RenderTextIsPrometheusText) {
  std::string text = render_text(run());
  EXPECT_NE(text.find("# HELP sluice_frontend_http_requests_total "), std::string::npos);
  EXPECT_NE(text.find("# TYPE sluice_frontend_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("sluice_frontend_http_requests_total{proxy=\"www\"} 12\n"),
            std::string::npos);
  EXPECT_NE(text.find("sluice_server_status{proxy=\"web\",server=\"b\",state=\"DOWN\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE sluice_backend_response_time_seconds histogram\n"),
            std::string::npos);
}

std::string find_promtool() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/promtool";
    if (!dir.empty() && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// promtool reads the exposition from stdin and lints it (names, `_total`, HELP, units).
TEST_F(CollectorTest, PromtoolAcceptsTheScrape) {
  std::string promtool = find_promtool();
  if (promtool.empty()) GTEST_SKIP() << "promtool not installed (Debian package prometheus)";
  auto dir =
      std::filesystem::temp_directory_path() / ("sluice-stats-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "metrics.prom";
  auto report = dir / "promtool.out";
  {
    std::ofstream out(file);
    out << render_text(run());
  }
  std::string cmd =
      promtool + " check metrics < " + file.string() + " > " + report.string() + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in(report);
  std::string output((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_EQ(output, "") << output;
}

}  // namespace
}  // namespace sluice::stats
