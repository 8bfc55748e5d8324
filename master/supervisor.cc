#include "master/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstring>
#include <iostream>
#include <thread>

#include "master/sd_notify.h"

namespace sluice::master {

namespace {

// A child that dies within this long after starting is dying "quickly"; such deaths in a
// row back off (100 ms, 200 ms, ... up to 5 s) so a crash loop does not spin the CPU.
constexpr auto quick_death = std::chrono::seconds(1);
constexpr auto max_backoff = std::chrono::milliseconds(5000);
// How long a new generation may take to report ready before the reload is abandoned.
constexpr auto ready_timeout = std::chrono::seconds(30);

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "ended";
}

}  // namespace

struct supervisor::generation_state {
  uint64_t id = 0;
  sluice::config::Config cfg;
  std::unique_ptr<config_snapshot> snapshot;
  std::vector<sluice::worker::listen_spec> specs;  // point into cfg
  std::vector<worker_sockets> sockets;             // per worker slot
  uint32_t workers = 0;
  bool health = false;  // a health process: some server has `check`
  // The stats process serves the frontends that use the prometheus exporter, on sockets
  // no worker gets.
  worker_sockets stats_sockets;
  bool stats = false;
  uint32_t ready = 0;
  uint32_t children() const { return workers + (health ? 1 : 0) + (stats ? 1 : 0); }
  std::unique_ptr<asio::steady_timer> ready_timer;
};

supervisor::supervisor(asio::io_context& io, compile_fn compile)
    : io_(io),
      compile_(std::move(compile)),
      ticket_rotation_(io),
      signals_(io, SIGCHLD, SIGTERM, SIGINT) {
  signals_.add(SIGQUIT);
  signals_.add(SIGHUP);
}

supervisor::~supervisor() = default;

uint64_t supervisor::generation() const {
  return current_ ? current_->id : 0;
}

const sluice::config::Config* supervisor::current_config() const {
  return current_ ? &current_->cfg : nullptr;
}

// Every server of a new config gets its slot (an existing one when its name is known, so a
// reload keeps its state). A weight the config changes is applied; otherwise a weight set
// by an operator stays.
bool supervisor::key_servers(const sluice::config::Config& cfg, std::vector<std::string>& errors) {
  std::map<std::string, uint32_t> weights;
  for (const auto& be : cfg.backends()) {
    for (const auto& srv : be.servers()) {
      std::string key = be.name() + "/" + srv.name();
      bool known = table_.find(key) != nullptr;
      health::server_slot* slot = table_.find_or_add(key, srv.weight());
      if (slot == nullptr) {
        errors.push_back("the shared server table is full (" + std::to_string(table_.capacity()) +
                         " servers); restart sluice to grow it");
        return false;
      }
      if (!known && srv.disabled()) {
        slot->admin.store(static_cast<uint32_t>(health::admin_state::maint));
      }
      auto prev = config_weights_.find(key);
      if (known && prev != config_weights_.end() && prev->second != srv.weight()) {
        slot->weight.store(srv.weight(), std::memory_order_relaxed);
      }
      weights[key] = srv.weight();
    }
  }
  config_weights_ = std::move(weights);
  return true;
}

// Every frontend, backend and server of a config gets its counters (kept by name across
// reloads). A full table only costs the metrics of what does not fit, never traffic.
void supervisor::key_counters(const sluice::config::Config& cfg) {
  auto add = [&](const std::string& key, stats::object_kind kind) {
    if (!counters_.find_or_add(key, kind)) {
      std::cerr << "sluice: no room for the counters of " << key << " (restart to grow)\n";
    }
  };
  add(std::string(stats::process_key), stats::object_kind::process);
  for (const auto& fe : cfg.frontends()) {
    add(stats::frontend_key(fe.name()), stats::object_kind::frontend);
  }
  for (const auto& be : cfg.backends()) {
    add(stats::backend_key(be.name()), stats::object_kind::backend);
    for (const auto& srv : be.servers()) {
      add(stats::server_key(be.name(), srv.name()), stats::object_kind::server);
    }
  }
}

void supervisor::publish_process_state() {
  if (!counters_.valid()) return;
  auto& p = counters_.process();
  p.generation.store(generation(), std::memory_order_relaxed);
  p.workers.store(workers(), std::memory_order_relaxed);
  p.reloads.store(reloads_, std::memory_order_relaxed);
  p.reload_failures.store(reload_failures_, std::memory_order_relaxed);
  p.worker_restarts.store(worker_restarts_, std::memory_order_relaxed);
}

constexpr std::chrono::hours ticket_rotation_period{1};

// A new ticket key every hour: a ticket stays valid for two rotations at most, so a stolen
// key opens an hour or two of past sessions, not all of them.
void supervisor::rotate_tickets_later() {
  ticket_rotation_.expires_after(ticket_rotation_period);
  ticket_rotation_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    tickets_.rotate();
    rotate_tickets_later();
  });
}

bool supervisor::start(sluice::config::Config cfg) {
  watch_signals();
  // Room for every server of this config and many more added by later reloads.
  uint32_t servers = 0;
  for (const auto& be : cfg.backends()) servers += static_cast<uint32_t>(be.servers_size());
  uint32_t capacity = std::max<uint32_t>(4096, servers * 4);
  segment_ = health::shm_segment::create("sluice-servers", health::table::bytes_for(capacity));
  if (!segment_.ok()) {
    std::cerr << "sluice: cannot create the shared server table: " << std::strerror(errno) << "\n";
    return false;
  }
  table_ = health::table::format(segment_.memory(), capacity);
  // Counters: room for this config's objects several times over (reloads add objects;
  // names that stay keep theirs), and writer slots for two overlapping generations of up
  // to 64 workers each.
  uint32_t objects = 1 + static_cast<uint32_t>(cfg.frontends_size() + cfg.backends_size());
  objects += servers;
  uint32_t object_capacity = std::max<uint32_t>(256, objects * 4);
  uint32_t workers = cfg.global().workers() != 0
                         ? cfg.global().workers()
                         : std::max(1u, std::thread::hardware_concurrency());
  uint32_t slot_capacity = stats::slots_for(std::max<uint32_t>(workers, 64));
  counters_segment_ = health::shm_segment::create(
      "sluice-counters", stats::counter_table::bytes_for(object_capacity, slot_capacity));
  if (!counters_segment_.ok()) {
    std::cerr << "sluice: cannot create the shared counters: " << std::strerror(errno) << "\n";
    return false;
  }
  counters_ =
      stats::counter_table::format(counters_segment_.memory(), object_capacity, slot_capacity);
  counter_slots_ = std::make_unique<stats::slot_pool>(slot_capacity);
  tickets_segment_ =
      health::shm_segment::create("sluice-tickets", worker::tls::ticket_ring::bytes());
  if (!tickets_segment_.ok()) {
    std::cerr << "sluice: cannot create the shared ticket keys: " << std::strerror(errno) << "\n";
    return false;
  }
  tickets_ = worker::tls::ticket_ring::format(tickets_segment_.memory());
  rotate_tickets_later();
  counters_.process().start_time_ms.store(
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count()));
  auto gen = std::make_unique<generation_state>();
  gen->cfg = std::move(cfg);
  std::vector<std::string> errors;
  if (!launch(std::move(gen), errors)) {
    for (const auto& e : errors) std::cerr << e << "\n";
    return false;
  }
  return true;
}

bool supervisor::launch(std::unique_ptr<generation_state> gen, std::vector<std::string>& errors) {
  gen->id = next_generation_;
  gen->workers = gen->cfg.global().workers();
  if (gen->workers == 0) gen->workers = std::max(1u, std::thread::hardware_concurrency());
  gen->specs = sluice::worker::listen_order(gen->cfg, errors);
  if (!errors.empty()) return false;
  if (!key_servers(gen->cfg, errors)) return false;
  key_counters(gen->cfg);
  for (const auto& be : gen->cfg.backends()) {
    for (const auto& srv : be.servers()) gen->health = gen->health || srv.check();
  }
  // Workers get every socket but those of exporter frontends, which go to the stats
  // process alone. Listen entries keep their index in listen_order() either way.
  std::vector<sluice::worker::listen_spec> worker_specs, stats_specs;
  std::vector<size_t> worker_index, stats_index;
  for (size_t i = 0; i < gen->specs.size(); ++i) {
    bool exporter = gen->specs[i].frontend->prometheus_exporter();
    (exporter ? stats_specs : worker_specs).push_back(gen->specs[i]);
    (exporter ? stats_index : worker_index).push_back(i);
  }
  if (!listeners_.assign(worker_specs, gen->workers, gen->sockets, errors)) return false;
  for (auto& slot : gen->sockets) {
    for (auto& l : slot) l.spec = worker_index[l.spec];
  }
  if (!stats_specs.empty()) {
    std::vector<worker_sockets> one;
    if (!listeners_.assign(stats_specs, 1, one, errors)) return false;
    gen->stats_sockets = one[0];
    for (auto& l : gen->stats_sockets) l.spec = stats_index[l.spec];
    gen->stats = true;
  }
  gen->snapshot = std::make_unique<config_snapshot>(gen->cfg);
  if (!gen->snapshot->ok()) {
    errors.push_back(std::string("cannot create the config snapshot: ") + std::strerror(errno));
    return false;
  }
  ++next_generation_;
  pending_ = std::move(gen);
  pending_->ready_timer = std::make_unique<asio::steady_timer>(io_, ready_timeout);
  pending_->ready_timer->async_wait([this, id = pending_->id](const boost::system::error_code& ec) {
    if (!ec) on_ready(id, false, "its workers did not report ready in time");
  });
  for (uint32_t slot = 0; slot < pending_->workers && pending_; ++slot) {
    spawn(*pending_, "worker", slot, 0, true);
  }
  if (pending_ && pending_->health) spawn(*pending_, "health", 0, 0, true);
  if (pending_ && pending_->stats) spawn(*pending_, "stats", 0, 0, true);
  return true;
}

void supervisor::spawn(generation_state& gen, const std::string& role, uint32_t slot,
                       uint32_t quick_deaths, bool wait_ready) {
  child_spec spec;
  spec.role = role;
  spec.slot = slot;
  spec.generation = gen.id;
  spec.config_fd = gen.snapshot->fd();
  spec.table_fd = segment_.fd();
  spec.counters_fd = counters_segment_.fd();
  spec.tickets_fd = tickets_segment_.fd();
  if (role == "worker") spec.listen_fds = gen.sockets[slot];
  if (role == "stats") spec.listen_fds = gen.stats_sockets;
  // Workers and the health process write counters, each in a slot of its own.
  if (role != "stats") {
    if (auto s = counter_slots_->acquire()) {
      spec.counters_slot = static_cast<int>(*s);
    } else {
      std::cerr << "sluice: no free counter slot: this " << role << " will not be counted\n";
    }
  }
  int pipe_fds[2] = {-1, -1};
  if (wait_ready && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    on_ready(gen.id, false, std::string("pipe: ") + std::strerror(errno));
    return;
  }
  spec.ready_fd = pipe_fds[1];
  std::string error;
  pid_t pid = spawn_child(spec, error);
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  if (pid < 0) {
    if (spec.counters_slot >= 0) counter_slots_->release(static_cast<uint32_t>(spec.counters_slot));
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
    std::cerr << "sluice: cannot start " << role << ": " << error << "\n";
    if (wait_ready) on_ready(gen.id, false, "a " + role + " process could not be started");
    return;
  }
  children_[pid] =
      child{role, gen.id, slot, spec.counters_slot, std::chrono::steady_clock::now(), quick_deaths};
  if (!wait_ready) return;
  auto pipe = std::make_shared<asio::posix::stream_descriptor>(io_, pipe_fds[0]);
  auto byte = std::make_shared<char>(0);
  pipe->async_read_some(
      asio::buffer(byte.get(), 1),
      [this, pipe, byte, id = gen.id](const boost::system::error_code& ec, size_t n) {
        on_ready(id, !ec && n == 1 && *byte == 'R', "a worker exited before it was ready");
      });
}

void supervisor::on_ready(uint64_t generation, bool ok, const std::string& why) {
  if (stopping_ || !pending_ || pending_->id != generation) return;
  if (!ok) {
    abandon(why);
    return;
  }
  if (++pending_->ready == pending_->children()) commit();
}

void supervisor::commit() {
  pending_->ready_timer->cancel();
  std::unique_ptr<generation_state> old = std::move(current_);
  current_ = std::move(pending_);
  if (old) {
    // The new generation accepts on the same sockets; the old one stops accepting and
    // drains. Nothing queued is lost: the master still holds every socket.
    for (const auto& [pid, c] : children_) {
      if (c.generation == old->id) ::kill(pid, SIGTERM);
    }
    ++reloads_;
    std::cerr << "sluice: reloaded: generation " << old->id << " draining\n";
  }
  sd_notify("READY=1\nSTATUS=generation " + std::to_string(current_->id) +
            " serving\nMAINPID=" + std::to_string(::getpid()));
  // Tests and operators wait for this line: every worker of the generation accepts.
  std::cerr << "sluice: generation " << current_->id << " serving with " << current_->workers
            << (current_->workers == 1 ? " worker\n" : " workers\n");
  listeners_.close_unused(current_->specs);
  publish_process_state();
  if (old && on_commit_) on_commit_(current_->cfg);
  if (old) finish_reload(true, {});
  if (reload_again_) {
    reload_again_ = false;
    auto queued = std::move(queued_);
    queued_.clear();
    reload(nullptr);
    for (auto& q : queued) waiting_.push_back(std::move(q));
  }
}

void supervisor::finish_reload(bool ok, const std::vector<std::string>& messages) {
  publish_process_state();
  last_reload_ = ok ? "ok: generation " + std::to_string(generation())
                    : "failed: " + (messages.empty() ? std::string("?") : messages.back());
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) {
    if (w) w(ok, generation(), messages);
  }
}

uint32_t supervisor::workers() const {
  return current_ ? current_->workers : 0;
}

std::vector<pid_t> supervisor::worker_pids() const {
  std::vector<pid_t> pids;
  for (const auto& [pid, c] : children_) {
    if (current_ && c.generation == current_->id && c.role == "worker") pids.push_back(pid);
  }
  return pids;
}

void supervisor::abandon(const std::string& why) {
  pending_->ready_timer->cancel();
  for (const auto& [pid, c] : children_) {
    if (c.generation == pending_->id) ::kill(pid, SIGKILL);
  }
  uint64_t id = pending_->id;
  pending_.reset();
  if (!current_) {
    std::cerr << "sluice: cannot start: " << why << "\n";
    exit_code_ = 1;
    stop(SIGQUIT);
    return;
  }
  // Sockets opened only for the abandoned generation are not needed.
  listeners_.close_unused(current_->specs);
  ++reload_failures_;
  std::cerr << "sluice: reload failed: generation " << id << " abandoned (" << why
            << "); generation " << current_->id << " keeps serving\n";
  sd_notify("READY=1\nSTATUS=reload failed: " + why);
  finish_reload(false, {"generation " + std::to_string(id) + " abandoned: " + why});
}

void supervisor::reload(reload_done done) {
  if (stopping_) {
    if (done) done(false, generation(), {"sluice is stopping"});
    return;
  }
  if (pending_) {
    reload_again_ = true;  // after the one in progress
    if (done) queued_.push_back(std::move(done));
    return;
  }
  if (done) waiting_.push_back(std::move(done));
  sd_notify("RELOADING=1");
  config::compile_result r = compile_();
  std::vector<std::string> messages;
  for (const auto& d : r.diag.all()) {
    std::cerr << config::format(d) << "\n";
    messages.push_back(config::format(d));
  }
  if (!r.ok()) {
    ++reload_failures_;
    std::cerr << "sluice: reload failed: the configuration is invalid (" << r.diag.error_count()
              << (r.diag.error_count() == 1 ? " error" : " errors") << "); generation "
              << generation() << " keeps serving\n";
    messages.push_back("the configuration is invalid; generation " + std::to_string(generation()) +
                       " keeps serving");
    sd_notify("READY=1\nSTATUS=reload failed: the configuration is invalid");
    finish_reload(false, messages);
    return;
  }
  auto gen = std::make_unique<generation_state>();
  gen->cfg = std::move(r.config);
  std::vector<std::string> errors;
  if (!launch(std::move(gen), errors)) {
    ++reload_failures_;
    for (const auto& e : errors) std::cerr << e << "\n";
    std::cerr << "sluice: reload failed; generation " << generation() << " keeps serving\n";
    sd_notify("READY=1\nSTATUS=reload failed");
    finish_reload(false, errors);
  }
}

void supervisor::watch_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGCHLD) {
      reap();
    } else if (sig == SIGHUP) {
      reload(nullptr);
    } else {
      stop(sig);
    }
    if (!(stopping_ && children_.empty())) watch_signals();
  });
}

void supervisor::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    auto it = children_.find(pid);
    if (it == children_.end()) continue;
    child c = it->second;
    children_.erase(it);
    if (c.counters_slot >= 0) {
      // Nobody writes the slot any more: its counts join the totals, the slot is free.
      counters_.fold(static_cast<uint32_t>(c.counters_slot));
      counter_slots_->release(static_cast<uint32_t>(c.counters_slot));
    }
    if (stopping_) continue;
    if (pending_ && c.generation == pending_->id) {
      std::cerr << "sluice: new " << c.role << " process (pid " << pid << ") " << describe(status)
                << "\n";
      on_ready(c.generation, false, "a " + c.role + " process exited before it was ready");
      continue;
    }
    if (!current_ || c.generation != current_->id) continue;  // a drained old worker
    std::string who = c.role == "worker" ? "worker " + std::to_string(c.slot + 1) : c.role;
    std::cerr << "sluice: " << who << " (pid " << pid << ") " << describe(status)
              << "; restarting it\n";
    if (c.role == "worker") {
      ++worker_restarts_;
      publish_process_state();
    }
    bool quick = std::chrono::steady_clock::now() - c.started < quick_death;
    uint32_t deaths = quick ? c.quick_deaths + 1 : 0;
    if (deaths <= 1) {
      spawn(*current_, c.role, c.slot, deaths, false);  // at once: its sockets stayed open
      continue;
    }
    auto delay = std::min<std::chrono::milliseconds>(
        max_backoff, std::chrono::milliseconds(100) * (1u << std::min(deaths - 2, 6u)));
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timer->async_wait([this, timer, role = c.role, slot = c.slot, deaths,
                       gen = c.generation](const boost::system::error_code& ec) {
      if (!ec && !stopping_ && current_ && current_->id == gen) {
        spawn(*current_, role, slot, deaths, false);
      }
    });
  }
  finish_if_done();
}

void supervisor::stop(int sig) {
  // SIGTERM/SIGINT: graceful (workers stop accepting and drain); SIGQUIT: now. A second
  // SIGTERM while draining is passed on too, and makes the workers stop at once.
  if (!stopping_) sd_notify("STOPPING=1");
  stopping_ = true;
  if (pending_) pending_->ready_timer->cancel();
  for (const auto& [pid, c] : children_) ::kill(pid, sig == SIGQUIT ? SIGQUIT : SIGTERM);
  finish_if_done();
}

void supervisor::finish_if_done() {
  if (stopping_ && children_.empty()) {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    ticket_rotation_.cancel();
    io_.stop();
  }
}

}  // namespace sluice::master
