// sluice: the entry point of every process. Without --role it is the master (or a one-shot
// check); the master execs this same binary with --role=worker for its children.
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <fstream>
#include <iostream>

#include "health/checker.h"
#include "health/shm_segment.h"
#include "health/table.h"
#include "master/cli.h"
#include "master/config/compiler.h"
#include "master/control/server.h"
#include "master/proc_title.h"
#include "master/spawn.h"
#include "master/supervisor.h"
#include "sluice/version.h"
#include "stats/counters.h"
#include "stats/service.h"
#include "worker/core/runtime.h"

namespace {

using namespace sluice::master;

void print_diagnostics(const config::diagnostics& diag, bool quiet) {
  for (const auto& d : diag.all()) {
    if (quiet && d.level != config::severity::error) continue;
    std::cerr << config::format(d) << "\n";
  }
}

// What every child maps: the server table and the counters (each valid() when given and
// of this build's layout).
struct shared_tables {
  sluice::health::shm_segment table_segment;
  sluice::health::table table;
  sluice::health::shm_segment counter_segment;
  sluice::stats::counter_table counters;
  sluice::health::shm_segment tickets_segment;
  sluice::worker::tls::ticket_ring tickets;
};

// Maps the segment behind `fd` (if given) and views it as a `View` (a table with static
// attach(memory, size) and valid()). False, having said why, when it is not one of this
// build's layout.
template <class View>
bool attach_shared(int fd, const char* what_is, const std::string& who,
                   sluice::health::shm_segment& segment, View& view) {
  if (fd < 0) return true;
  segment = sluice::health::shm_segment::attach(fd);
  view = View::attach(segment.memory(), segment.size());
  if (view.valid()) return true;
  std::cerr << "sluice: " << who << ": " << what_is << " missing or of another version\n";
  return false;
}

// The start every child shares: its title, its config snapshot, the shared tables. False
// (having said why, as `who`) when the snapshot cannot be read or a given table does not
// match this build.
bool start_child(const cli_options& opts, const std::string& who, sluice::config::Config& cfg,
                 shared_tables& shared) {
  set_proc_title("sluice: " + who + " (gen " + std::to_string(opts.generation) + ")");
  if (!read_config_snapshot(opts.config_fd, cfg)) {
    std::cerr << "sluice: " << who << ": cannot read the configuration\n";
    return false;
  }
  ::close(opts.config_fd);
  return attach_shared(opts.table_fd, "the shared server table is", who, shared.table_segment,
                       shared.table) &&
         attach_shared(opts.tickets_fd, "the shared ticket keys are", who, shared.tickets_segment,
                       shared.tickets) &&
         attach_shared(opts.counters_fd, "the shared counters are", who, shared.counter_segment,
                       shared.counters);
}

// Tells the master this child is ready (a worker: it accepts, so the previous generation
// may retire).
void report_ready(const cli_options& opts) {
  if (opts.ready_fd < 0) return;
  char ready = 'R';
  [[maybe_unused]] ssize_t n = ::write(opts.ready_fd, &ready, 1);
  ::close(opts.ready_fd);
}

std::vector<sluice::worker::inherited_listener> inherited_sockets(const cli_options& opts) {
  std::vector<sluice::worker::inherited_listener> out;
  for (auto [spec, fd] : opts.listen_fds) out.push_back({spec, fd});
  return out;
}

int run_worker(const cli_options& opts) {
  const std::string who = "worker " + std::to_string(opts.slot + 1);
  sluice::config::Config cfg;
  shared_tables shared;
  if (!start_child(opts, who, cfg, shared)) return 3;
  sluice::worker::runtime rt(cfg, shared.table.valid() ? &shared.table : nullptr, opts.slot);
  if (shared.counters.valid() && opts.counters_slot >= 0) {
    rt.count_in(&shared.counters, static_cast<uint32_t>(opts.counters_slot));
  }
  if (shared.tickets.valid()) rt.use_ticket_ring(shared.tickets);
  std::vector<std::string> errors;
  // The master hands every socket this worker serves; it never opens one itself.
  if (!rt.start(errors, inherited_sockets(opts), false)) {
    for (const auto& e : errors) std::cerr << "sluice: " << who << ": " << e << "\n";
    return 3;
  }
  report_ready(opts);
  rt.run();
  return exit_ok;
}

int run_health(const cli_options& opts) {
  sluice::config::Config cfg;
  shared_tables shared;
  if (!start_child(opts, "health", cfg, shared)) return 3;
  if (!shared.table.valid()) {
    std::cerr << "sluice: health: no shared server table\n";
    return 3;
  }
  boost::asio::io_context io(1);
  sluice::health::checker checks(io, cfg, shared.table);
  if (shared.counters.valid() && opts.counters_slot >= 0) {
    checks.count_in(&shared.counters, static_cast<uint32_t>(opts.counters_slot));
  }
  std::vector<std::string> errors;
  checks.start(errors);
  for (const auto& e : errors) std::cerr << "sluice: health: " << e << "\n";
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.add(SIGQUIT);
  signals.async_wait([&io, &checks](const boost::system::error_code&, int) {
    checks.stop();
    io.stop();
  });
  report_ready(opts);
  io.run();
  return exit_ok;
}

int run_stats(const cli_options& opts) {
  sluice::config::Config cfg;
  shared_tables shared;
  if (!start_child(opts, "stats", cfg, shared)) return 3;
  if (!shared.table.valid() || !shared.counters.valid()) {
    std::cerr << "sluice: stats: no shared tables\n";
    return 3;
  }
  boost::asio::io_context io(1);
  sluice::stats::service service(io, cfg, shared.counters, shared.table);
  std::vector<std::string> errors;
  if (!service.start(inherited_sockets(opts), errors)) {
    for (const auto& e : errors) std::cerr << "sluice: stats: " << e << "\n";
    return 3;
  }
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.add(SIGQUIT);
  signals.async_wait([&io](const boost::system::error_code&, int) { io.stop(); });
  report_ready(opts);
  io.run();
  return exit_ok;
}

// --role=compile: the master's reload asks the binary on disk to compile the files and
// hand back the result, diagnostics included, on a pipe.
int run_compile(const cli_options& opts) {
  config::compile_result r = config::compile_files(opts.config_paths);
  sluice::config::Compiled out;
  *out.mutable_config() = std::move(r.config);
  for (const auto& d : r.diag.all()) {
    auto* o = out.add_diagnostics();
    o->set_error(d.level == config::severity::error);
    o->set_file(d.where.file);
    o->set_line(d.where.line);
    o->set_message(d.message);
  }
  std::string bytes;
  if (opts.output_fd < 0 || !out.SerializeToString(&bytes)) return 3;
  for (size_t done = 0; done < bytes.size();) {
    ssize_t n = ::write(opts.output_fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) return 3;
    done += static_cast<size_t>(n);
  }
  return exit_ok;
}

// A reload compiles with the binary on disk (the upgraded one, after an upgrade); if it
// cannot run, with this one.
config::compile_result compile_for_reload(const std::vector<std::string>& paths) {
  sluice::config::Compiled out;
  std::string error;
  if (!compile_with_binary_on_disk(paths, out, error)) {
    std::cerr << "sluice: " << error << "; compiling with the running binary\n";
    return config::compile_files(paths);
  }
  config::compile_result r;
  r.config = std::move(*out.mutable_config());
  for (const auto& d : out.diagnostics()) {
    config::location where{d.file(), d.line()};
    if (d.error()) {
      r.diag.error(where, d.message());
    } else {
      r.diag.warning(where, d.message());
    }
  }
  return r;
}

bool write_pidfile(const std::string& path) {
  std::ofstream f(path, std::ios::trunc);
  f << ::getpid() << "\n";
  return static_cast<bool>(f);
}

int run_master(const cli_options& opts, sluice::config::Config cfg) {
  set_proc_title("sluice: master");
  std::string pidfile = !opts.pidfile.empty() ? opts.pidfile : cfg.global().pidfile();
  boost::asio::io_context io(1);
  supervisor sup(io, [&opts] { return compile_for_reload(opts.config_paths); });
  uint32_t workers = cfg.global().workers();
  control::server control_socket(io, sup);
  // Stats sockets follow the config on reload.
  sup.on_commit([&control_socket](const sluice::config::Config& c) {
    control_socket.reconfigure(c.global());
  });
  std::vector<std::string> errors;
  if (!control_socket.listen(cfg.global(), errors) || !sup.start(std::move(cfg))) {
    for (const auto& e : errors) std::cerr << e << "\n";
    std::cerr << "sluice: cannot start\n";
    return exit_config_invalid;
  }
  if (!pidfile.empty() && !write_pidfile(pidfile)) {
    std::cerr << "sluice: cannot write pidfile " << pidfile << "\n";
    return exit_config_invalid;
  }
  if (!opts.quiet) {
    std::cerr << "sluice " << sluice::version << ": master " << ::getpid() << " starting "
              << (workers == 0 ? std::string("one worker per CPU")
                               : std::to_string(workers) + " workers")
              << "\n";
  }
  io.run();
  if (!pidfile.empty()) ::unlink(pidfile.c_str());
  return sup.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
  proc_title_init(argc, argv);
  remember_self_exe();
  cli_options opts;
  if (!parse_cli(argc, argv, opts)) return exit_usage;
  if (opts.role == "worker") return run_worker(opts);
  if (opts.role == "health") return run_health(opts);
  if (opts.role == "stats") return run_stats(opts);
  if (opts.role == "compile") return run_compile(opts);
  if (!opts.role.empty()) {
    std::cerr << "sluice: unknown role '" << opts.role << "'\n";
    return exit_usage;
  }
  if (opts.help) {
    std::cout << opts.help_text;
    return exit_ok;
  }
  if (opts.version) {
    std::cout << "sluice " << sluice::version << "\n";
    return exit_ok;
  }
  if (opts.config_paths.empty()) {
    std::cerr << "sluice: no configuration given (use -f FILE or -f FOLDER)\n"
              << "Try 'sluice --help'.\n";
    return exit_usage;
  }
  config::compile_result result = config::compile_files(opts.config_paths);
  print_diagnostics(result.diag, opts.quiet);
  if (!result.ok()) {
    std::cerr << "Configuration is invalid: " << result.diag.error_count()
              << (result.diag.error_count() == 1 ? " error\n" : " errors\n");
    return exit_config_invalid;
  }
  if (opts.dump_config) {
    std::string text;
    google::protobuf::TextFormat::PrintToString(result.config, &text);
    std::cout << text;
    return exit_ok;
  }
  if (opts.check) {
    if (!opts.quiet) std::cout << "Configuration file is valid\n";
    return exit_ok;
  }
  return run_master(opts, std::move(result.config));
}
