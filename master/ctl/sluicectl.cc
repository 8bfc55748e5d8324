// sluicectl: the operator's client for the master's control socket (`stats socket`).
#include <google/protobuf/util/json_util.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cstring>
#include <iomanip>
#include <iostream>

#include "master/control/framing.h"
#include "proto/control.pb.h"
#include "sluice/version.h"

namespace {

namespace pb = sluice::control;
constexpr int exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3;

const char* usage =
    "Usage: sluicectl -s SOCKET [--json] COMMAND...\n"
    "Commands (served by the master's 'stats socket'):\n"
    "  show info                                  version, pids, uptime, generation, reloads\n"
    "  show servers [BACKEND]                     servers with state, admin state, weight\n"
    "  set server BACKEND/SERVER state ready|drain|maint\n"
    "  set server BACKEND/SERVER weight N\n"
    "  reload                                     reload and wait for the outcome\n"
    "Exit codes: 0 success, 1 the master refused, 2 usage error, 3 socket unreachable.\n";

// Builds the request for the command words; "" on success or the usage problem.
std::string build(const std::vector<std::string>& w, pb::Request& req) {
  auto is = [&](std::initializer_list<const char*> words) {
    if (w.size() < words.size()) return false;
    size_t i = 0;
    for (const char* x : words) {
      if (w[i++] != x) return false;
    }
    return true;
  };
  if (is({"show", "info"}) && w.size() == 2) {
    req.mutable_show_info();
  } else if (is({"show", "servers"}) && w.size() <= 3) {
    req.mutable_show_servers()->set_backend(w.size() == 3 ? w[2] : "");
  } else if (is({"show", "stat"})) {
    return "'show stat' is not available yet (it arrives with the metrics)";
  } else if (is({"set", "server"}) && w.size() == 5) {
    size_t slash = w[2].find('/');
    if (slash == std::string::npos) return "expected BACKEND/SERVER, got '" + w[2] + "'";
    auto& s = *req.mutable_set_server();
    s.set_backend(w[2].substr(0, slash));
    s.set_server(w[2].substr(slash + 1));
    if (w[3] == "state") {
      s.set_state(w[4]);
    } else if (w[3] == "weight") {
      try {
        size_t used = 0;
        unsigned long v = std::stoul(w[4], &used);
        if (used != w[4].size() || v > 256) throw std::out_of_range(w[4]);
        s.set_weight(static_cast<uint32_t>(v));
      } catch (const std::exception&) {
        return "weight must be a number 0..256, not '" + w[4] + "'";
      }
    } else {
      return "expected 'state' or 'weight' after the server, got '" + w[3] + "'";
    }
  } else if (is({"reload"}) && w.size() == 1) {
    req.mutable_reload();
  } else {
    return w.empty() ? "no command given" : "unknown command";
  }
  return "";
}

int connect_to(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (fd < 0 || path.size() >= sizeof addr.sun_path) return -1;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void print_text(const pb::Response& r) {
  switch (r.result_case()) {
    case pb::Response::kInfo: {
      const auto& i = r.info();
      std::cout << "version: " << i.version() << "\nmaster_pid: " << i.master_pid()
                << "\nworker_pids:";
      for (auto p : i.worker_pids()) std::cout << " " << p;
      std::cout << "\nworkers: " << i.workers() << "\nuptime_seconds: " << i.uptime_seconds()
                << "\ngeneration: " << i.generation() << "\nreloads: " << i.reloads()
                << "\nreload_failures: " << i.reload_failures()
                << "\nlast_reload: " << i.last_reload() << "\nconfig_files:";
      for (const auto& f : i.config_files()) std::cout << " " << f;
      std::cout << "\n";
      break;
    }
    case pb::Response::kServers: {
      std::cout << std::left << std::setw(32) << "BACKEND/SERVER" << std::setw(24) << "ADDRESS"
                << std::setw(11) << "STATE" << std::setw(7) << "ADMIN" << std::setw(7) << "WEIGHT"
                << std::setw(6) << "CHECK"
                << "BACKUP\n";
      for (const auto& s : r.servers().servers()) {
        std::string addr = s.address() + (s.port() ? ":" + std::to_string(s.port()) : "");
        std::cout << std::setw(32) << (s.backend() + "/" + s.server()) << std::setw(24) << addr
                  << std::setw(11) << s.state() << std::setw(7) << s.admin_state() << std::setw(7)
                  << s.weight() << std::setw(6) << (s.check() ? "yes" : "no")
                  << (s.backup() ? "yes" : "no") << "\n";
      }
      break;
    }
    case pb::Response::kReload:
      for (const auto& m : r.reload().messages()) std::cout << m << "\n";
      if (r.ok()) std::cout << "reloaded: generation " << r.reload().generation() << " serving\n";
      break;
    default: break;
  }
}

}  // namespace

int main(int argc, char** argv) {
  namespace po = boost::program_options;
  po::options_description opts("Options");
  std::string socket;
  std::vector<std::string> words;
  opts.add_options()("socket,s", po::value<std::string>(&socket), "control socket path");
  opts.add_options()("json", "print results as JSON");
  opts.add_options()("version,v", "print the version and exit");
  opts.add_options()("help,h", "print this help and exit");
  po::options_description hidden;
  hidden.add_options()("words", po::value<std::vector<std::string>>(&words));
  po::options_description all;
  all.add(opts).add(hidden);
  po::positional_options_description positional;
  positional.add("words", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "sluicectl: " << e.what() << "\n" << usage;
    return exit_usage;
  }
  if (vm.count("help")) {
    std::cout << usage << opts;
    return exit_ok;
  }
  if (vm.count("version")) {
    std::cout << "sluicectl " << sluice::version << "\n";
    return exit_ok;
  }
  pb::Request req;
  if (std::string problem = build(words, req); !problem.empty()) {
    std::cerr << "sluicectl: " << problem << "\n" << usage;
    return exit_usage;
  }
  if (socket.empty()) {
    std::cerr << "sluicectl: -s SOCKET is required (the path of the 'stats socket')\n";
    return exit_usage;
  }
  int fd = connect_to(socket);
  if (fd < 0) {
    std::cerr << "sluicectl: cannot connect to " << socket << ": " << std::strerror(errno) << "\n";
    return exit_unreachable;
  }
  std::string out, in;
  req.SerializeToString(&out);
  pb::Response resp;
  bool ok = sluice::master::control::write_frame(fd, out) &&
            sluice::master::control::read_frame(fd, in) && resp.ParseFromString(in);
  ::close(fd);
  if (!ok) {
    std::cerr << "sluicectl: no valid answer from " << socket << "\n";
    return exit_unreachable;
  }
  if (vm.count("json")) {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.always_print_primitive_fields = true;
    o.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(resp, &json, o);
    std::cout << json;
  } else {
    print_text(resp);
    if (!resp.ok()) std::cerr << "sluicectl: " << resp.error() << "\n";
  }
  return resp.ok() ? exit_ok : exit_failed;
}
