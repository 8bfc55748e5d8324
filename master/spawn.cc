#include "master/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace sluice::master {

namespace {

std::string exe_path;

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

config_snapshot::config_snapshot(const sluice::config::Config& cfg) {
  std::string bytes;
  if (!cfg.SerializeToString(&bytes)) return;
  fd_ = memfd_create("sluice-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd_ < 0) return;
  if (!write_all(fd_, bytes.data(), bytes.size()) ||
      fcntl(fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

config_snapshot::~config_snapshot() {
  if (fd_ >= 0) ::close(fd_);
}

bool read_config_snapshot(int fd, sluice::config::Config& out) {
  std::string bytes;
  char buf[65536];
  off_t offset = 0;  // pread: the fd's offset is shared with the master and siblings
  for (;;) {
    ssize_t n = ::pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  return out.ParseFromString(bytes);
}

void remember_self_exe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  exe_path = ec ? std::string("/proc/self/exe") : p.string();
}

const std::string& self_exe() {
  return exe_path;
}

pid_t spawn_child(const child_spec& spec, std::string& error) {
  std::vector<std::string> args = {
      "sluice",
      "--role=" + spec.role,
      "--slot=" + std::to_string(spec.slot),
      "--generation=" + std::to_string(spec.generation),
      "--config-fd=" + std::to_string(spec.config_fd),
  };
  std::string fds;
  for (const auto& l : spec.listen_fds) {
    fds += (fds.empty() ? "" : ",") + std::to_string(l.spec) + ":" + std::to_string(l.fd);
  }
  if (!fds.empty()) args.push_back("--listen-fds=" + fds);
  if (spec.ready_fd >= 0) args.push_back("--ready-fd=" + std::to_string(spec.ready_fd));
  if (spec.table_fd >= 0) args.push_back("--table-fd=" + std::to_string(spec.table_fd));
  if (spec.tickets_fd >= 0) args.push_back("--tickets-fd=" + std::to_string(spec.tickets_fd));
  if (spec.counters_fd >= 0) {
    args.push_back("--counters-fd=" + std::to_string(spec.counters_fd));
    args.push_back("--counters-slot=" + std::to_string(spec.counters_slot));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t master = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return -1;
  }
  if (pid > 0) return pid;

  // Child. Only async-signal-safe calls from here to exec.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != master) ::_exit(127);  // the master died before prctl took effect
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  auto keep = [](int fd) { ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) & ~FD_CLOEXEC); };
  keep(spec.config_fd);
  if (spec.ready_fd >= 0) keep(spec.ready_fd);
  if (spec.table_fd >= 0) keep(spec.table_fd);
  if (spec.counters_fd >= 0) keep(spec.counters_fd);
  if (spec.tickets_fd >= 0) keep(spec.tickets_fd);
  for (const auto& l : spec.listen_fds) keep(l.fd);
  ::execv(exe_path.c_str(), argv.data());
  ::_exit(127);
}

bool compile_with_binary_on_disk(const std::vector<std::string>& paths,
                                 sluice::config::Compiled& out, std::string& error) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::vector<std::string> args = {"sluice", "--role=compile",
                                   "--output-fd=" + std::to_string(fds[1])};
  for (const auto& p : paths) {
    args.push_back("-f");
    args.push_back(p);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return false;
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::fcntl(fds[1], F_SETFD, 0);
    ::execv(exe_path.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string bytes;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n > 0) {
      bytes.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    error = self_exe() + " --role=compile did not finish";
    return false;
  }
  if (!out.ParseFromString(bytes)) {
    error = self_exe() + " --role=compile gave no readable result";
    return false;
  }
  return true;
}

}  // namespace sluice::master
