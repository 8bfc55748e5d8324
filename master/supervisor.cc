#include "master/supervisor.h"

#include <signal.h>
#include <sys/wait.h>

#include <iostream>

namespace sluice::master {

namespace {

// A child that dies within this long after starting is dying "quickly"; such deaths in a
// row back off (100 ms, 200 ms, ... up to 5 s) so a crash loop does not spin the CPU.
constexpr auto quick_death = std::chrono::seconds(1);
constexpr auto max_backoff = std::chrono::milliseconds(5000);

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  }
  return "ended";
}

}  // namespace

supervisor::supervisor(asio::io_context& io, const sluice::config::Config& cfg,
                       std::vector<std::vector<int>> listen_fds)
    : io_(io),
      snapshot_(cfg),
      listen_fds_(std::move(listen_fds)),
      signals_(io, SIGCHLD, SIGTERM, SIGINT) {
  signals_.add(SIGQUIT);
}

bool supervisor::start() {
  if (!snapshot_.ok()) {
    std::cerr << "sluice: cannot create the config snapshot for workers\n";
    return false;
  }
  watch_signals();
  for (uint32_t slot = 0; slot < listen_fds_.size(); ++slot) spawn(slot, 0);
  return children_.size() == listen_fds_.size();
}

void supervisor::spawn(uint32_t slot, uint32_t quick_deaths) {
  child_spec spec;
  spec.role = "worker";
  spec.slot = slot;
  spec.generation = generation_;
  spec.config_fd = snapshot_.fd();
  spec.listen_fds = listen_fds_[slot];
  std::string error;
  pid_t pid = spawn_child(spec, error);
  if (pid < 0) {
    std::cerr << "sluice: cannot start worker " << slot + 1 << ": " << error << "\n";
    return;
  }
  children_[pid] = child{slot, std::chrono::steady_clock::now(), quick_deaths};
}

void supervisor::watch_signals() {
  signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    if (sig == SIGCHLD) {
      reap();
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
    if (stopping_) continue;
    std::cerr << "sluice: worker " << c.slot + 1 << " (pid " << pid << ") " << describe(status)
              << "; restarting it\n";
    bool quick = std::chrono::steady_clock::now() - c.started < quick_death;
    uint32_t deaths = quick ? c.quick_deaths + 1 : 0;
    if (deaths <= 1) {
      spawn(c.slot, deaths);  // at once: the listening sockets stay open meanwhile
      continue;
    }
    auto delay = std::min<std::chrono::milliseconds>(
        max_backoff, std::chrono::milliseconds(100) * (1u << std::min(deaths - 2, 6u)));
    auto timer = std::make_shared<asio::steady_timer>(io_, delay);
    timer->async_wait([this, timer, slot = c.slot, deaths](const boost::system::error_code& ec) {
      if (!ec && !stopping_) spawn(slot, deaths);
    });
  }
  if (stopping_ && children_.empty()) {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    io_.stop();
  }
}

void supervisor::stop(int sig) {
  // SIGTERM/SIGINT: graceful (workers stop accepting and drain); SIGQUIT: now. A second
  // SIGTERM while draining is passed on too, and makes the workers stop at once.
  stopping_ = true;
  for (const auto& [pid, c] : children_) ::kill(pid, sig == SIGQUIT ? SIGQUIT : SIGTERM);
  if (children_.empty()) io_.stop();
}

}  // namespace sluice::master
