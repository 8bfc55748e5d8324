#pragma once
// Turns what Sluice knows at scrape time (the config of the serving generation, the shared
// counter table, the shared server table and the master's process state) into Prometheus
// metric families. Names and labels follow HAProxy's exporter (promex) wherever it has an
// equivalent, so its dashboards work with `metrics-prefix haproxy`; every counter ends in
// `_total`, and backends and servers add real latency histograms. docs/metrics.md lists
// every family.
//
// A pure function of its inputs: no I/O and no clock, so the exporter can call it from a
// prometheus::Collectable and tests can call it on a table they filled themselves.

#include <prometheus/metric_family.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "health/table.h"
#include "proto/config.pb.h"
#include "stats/counters.h"

namespace sluice::stats {

// What a scrape asks for, as HAProxy's exporter: `scope=` selects families.
enum scope : uint32_t {
  scope_global = 1u << 0,
  scope_frontend = 1u << 1,
  scope_backend = 1u << 2,
  scope_server = 1u << 3,
};
inline constexpr uint32_t all_scopes = scope_global | scope_frontend | scope_backend | scope_server;

struct collect_options {
  uint32_t scopes = all_scopes;
  bool no_maint = false;  // `no-maint`: leave out servers in maintenance
};

// Parses the query string of a scrape (`scope=backend&scope=server&no-maint`) as HAProxy's
// exporter does: no `scope` means every scope, `scope=` (empty) adds none, `scope=*` all;
// `listener` and `sticktable` are accepted and select nothing, since Sluice has no such
// metrics. nullopt for an unknown scope (the exporter answers 400 then). Other parameters
// are ignored.
std::optional<collect_options> parse_query(std::string_view query);

// "sluice" unless `global / metrics-prefix` says otherwise.
std::string metric_prefix(const sluice::config::Config& cfg);

// The families of one scrape. `counters` or `servers` may be empty views (not attached):
// the affected metrics then read zero or come from the config alone. `now_ms` is the wall
// clock in ms since the epoch (for uptime and time since a server's last change).
std::vector<prometheus::MetricFamily> collect(const sluice::config::Config& cfg,
                                              const counter_table& counters,
                                              const health::table& servers,
                                              const process_info& process,
                                              const collect_options& options, uint64_t now_ms);

// The Prometheus text exposition format (version 0.0.4) of `families`.
std::string render_text(const std::vector<prometheus::MetricFamily>& families);

}  // namespace sluice::stats
