#include "master/control/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/local/stream_protocol.hpp>
#include <iostream>

#include "master/control/framing.h"
#include "sluice/version.h"

namespace sluice::master::control {

namespace {

namespace pb = sluice::control;
using local = boost::asio::local::stream_protocol;
using sluice::worker::awaitable;
using sluice::worker::use_result;

pb::Response failure(std::string why) {
  pb::Response r;
  r.set_ok(false);
  r.set_error(std::move(why));
  return r;
}

}  // namespace

struct server::listener {
  std::string path;
  level lvl;
  local::acceptor acceptor;
  listener(boost::asio::io_context& io, std::string p, level l)
      : path(std::move(p)), lvl(l), acceptor(io) {}
  ~listener() {
    boost::system::error_code ignored;
    acceptor.close(ignored);
    if (!path.empty()) ::unlink(path.c_str());
  }
};

server::server(boost::asio::io_context& io, supervisor& sup) : io_(io), sup_(sup) {}

server::~server() = default;

bool server::open_one(const sluice::config::StatsSocket& s, std::vector<std::string>& errors) {
  level lvl = s.level() == "user"       ? level::user
              : s.level() == "operator" ? level::operator_
                                        : level::admin;
  std::string where = s.origin().file() + ":" + std::to_string(s.origin().line()) + ": ";
  // A socket file left by a master that is gone is replaced; a live one is not stolen.
  {
    local::socket probe(io_);
    boost::system::error_code ec;
    probe.connect(local::endpoint(s.path()), ec);
    if (!ec) {
      errors.push_back(where + "stats socket " + s.path() + " is in use by another process");
      return false;
    }
  }
  ::unlink(s.path().c_str());
  auto l = std::make_shared<listener>(io_, s.path(), lvl);
  boost::system::error_code ec;
  l->acceptor.open(local(), ec);
  if (!ec) l->acceptor.bind(local::endpoint(s.path()), ec);
  if (!ec && ::chmod(s.path().c_str(), static_cast<mode_t>(s.mode())) != 0) {
    ec = boost::system::error_code(errno, boost::system::system_category());
  }
  if (!ec) l->acceptor.listen(64, ec);
  if (ec) {
    errors.push_back(where + "cannot open stats socket " + s.path() + ": " + ec.message());
    return false;
  }
  boost::asio::co_spawn(io_, accept_loop(l), boost::asio::detached);
  listeners_.push_back(std::move(l));
  return true;
}

bool server::listen(const sluice::config::Global& global, std::vector<std::string>& errors) {
  for (const auto& s : global.stats_sockets()) open_one(s, errors);
  return errors.empty();
}

void server::reconfigure(const sluice::config::Global& global) {
  std::vector<std::string> errors;
  // Dropped sockets close now; their accept loops end on their own.
  std::erase_if(listeners_, [&](const std::shared_ptr<listener>& l) {
    for (const auto& s : global.stats_sockets()) {
      if (s.path() == l->path) return false;
    }
    boost::system::error_code ignored;
    l->acceptor.close(ignored);
    ::unlink(l->path.c_str());
    l->path.clear();  // nothing left for the destructor to remove
    return true;
  });
  for (const auto& s : global.stats_sockets()) {
    auto it = std::find_if(listeners_.begin(), listeners_.end(),
                           [&](const auto& l) { return l->path == s.path(); });
    if (it == listeners_.end()) {
      open_one(s, errors);
      continue;
    }
    (*it)->lvl = s.level() == "user"       ? level::user
                 : s.level() == "operator" ? level::operator_
                                           : level::admin;
    ::chmod(s.path().c_str(), static_cast<mode_t>(s.mode()));
  }
  for (const auto& e : errors) std::cerr << "sluice: " << e << "\n";
}

awaitable<void> server::accept_loop(std::shared_ptr<listener> l) {
  for (;;) {
    auto [ec, socket] = co_await l->acceptor.async_accept(use_result);
    if (ec) {
      if (!l->acceptor.is_open() || ec == boost::asio::error::operation_aborted) co_return;
      continue;
    }
    boost::asio::co_spawn(io_, serve(std::move(socket), l->lvl), boost::asio::detached);
  }
}

awaitable<void> server::serve(local::socket socket, level lvl) {
  for (;;) {
    unsigned char len[4];
    auto [ec, n] = co_await boost::asio::async_read(socket, boost::asio::buffer(len), use_result);
    if (ec) co_return;
    uint32_t size = get_length(len);
    pb::Response response;
    bool keep_open = true;
    if (size > max_frame) {
      response = failure("message of " + std::to_string(size) + " bytes is over the limit of " +
                         std::to_string(max_frame));
      keep_open = false;
    } else {
      std::string body(size, '\0');
      auto [bec, bn] =
          co_await boost::asio::async_read(socket, boost::asio::buffer(body), use_result);
      if (bec) co_return;
      pb::Request request;
      if (!request.ParseFromString(body) ||
          request.command_case() == pb::Request::COMMAND_NOT_SET) {
        response = failure("malformed request");
        keep_open = false;
      } else {
        response = co_await handle(request, lvl);
      }
    }
    std::string out;
    response.SerializeToString(&out);
    unsigned char olen[4];
    put_length(static_cast<uint32_t>(out.size()), olen);
    std::array<boost::asio::const_buffer, 2> bufs = {boost::asio::buffer(olen),
                                                     boost::asio::buffer(out)};
    auto [wec, wn] = co_await boost::asio::async_write(socket, bufs, use_result);
    if (wec || !keep_open) co_return;
  }
}

awaitable<pb::Response> server::handle(const pb::Request& req, level lvl) {
  switch (req.command_case()) {
    case pb::Request::kShowInfo: co_return show_info();
    case pb::Request::kShowServers: co_return show_servers(req.show_servers().backend());
    case pb::Request::kSetServer:
      if (lvl == level::user)
        co_return failure(
            "permission denied: 'set server' needs level "
            "operator or admin on this socket");
      co_return set_server(req.set_server());
    case pb::Request::kReload: {
      if (lvl != level::admin) {
        co_return failure("permission denied: 'reload' needs level admin on this socket");
      }
      // Wait for the outcome: the new generation serving, or why not.
      boost::asio::steady_timer done(io_, std::chrono::steady_clock::time_point::max());
      std::optional<pb::Response> result;
      sup_.reload([&](bool ok, uint64_t generation, const std::vector<std::string>& messages) {
        pb::Response r;
        r.set_ok(ok);
        if (!ok) r.set_error("reload failed");
        r.mutable_reload()->set_generation(generation);
        for (const auto& m : messages) r.mutable_reload()->add_messages(m);
        result = std::move(r);
        done.cancel();
      });
      if (!result) co_await done.async_wait(use_result);
      co_return result ? std::move(*result) : failure("reload did not finish");
    }
    default: co_return failure("unknown command");
  }
}

pb::Response server::show_info() const {
  pb::Response r;
  r.set_ok(true);
  pb::Info& info = *r.mutable_info();
  info.set_version(sluice::version);
  info.set_master_pid(static_cast<uint32_t>(::getpid()));
  for (pid_t p : sup_.worker_pids()) info.add_worker_pids(static_cast<uint32_t>(p));
  info.set_uptime_seconds(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count()));
  info.set_generation(sup_.generation());
  info.set_workers(sup_.workers());
  info.set_reloads(sup_.reloads());
  info.set_reload_failures(sup_.reload_failures());
  info.set_last_reload(sup_.last_reload());
  if (const auto* cfg = sup_.current_config()) {
    for (const auto& f : cfg->files()) info.add_config_files(f);
  }
  return r;
}

pb::Response server::show_servers(const std::string& backend) const {
  pb::Response r;
  const auto* cfg = sup_.current_config();
  if (cfg == nullptr) return failure("no configuration is serving yet");
  bool found = backend.empty();
  for (const auto& be : cfg->backends()) {
    if (!backend.empty() && be.name() != backend) continue;
    found = true;
    for (const auto& srv : be.servers()) {
      pb::ServerInfo& s = *r.mutable_servers()->add_servers();
      s.set_backend(be.name());
      s.set_server(srv.name());
      s.set_address(srv.address());
      s.set_port(srv.port());
      s.set_config_weight(srv.weight());
      s.set_check(srv.check());
      s.set_backup(srv.backup());
      if (const auto* slot = sup_.table().find(be.name() + "/" + srv.name())) {
        s.set_state(health::name(static_cast<health::op_state>(slot->op.load())));
        s.set_admin_state(health::name(static_cast<health::admin_state>(slot->admin.load())));
        s.set_weight(slot->weight.load());
        s.set_transitions(slot->transitions.load());
      }
    }
  }
  if (!found) return failure("no backend named '" + backend + "'");
  r.set_ok(true);
  r.mutable_servers();
  return r;
}

pb::Response server::set_server(const pb::SetServer& req) {
  const auto* cfg = sup_.current_config();
  if (cfg == nullptr) return failure("no configuration is serving yet");
  bool known = false;
  for (const auto& be : cfg->backends()) {
    if (be.name() != req.backend()) continue;
    for (const auto& srv : be.servers()) known = known || srv.name() == req.server();
  }
  std::string key = req.backend() + "/" + req.server();
  health::server_slot* slot = known ? sup_.table().find(key) : nullptr;
  if (slot == nullptr) return failure("no server '" + key + "'");
  switch (req.change_case()) {
    case pb::SetServer::kState: {
      auto st = health::parse_admin_state(req.state());
      if (!st) return failure("state must be ready, drain or maint, not '" + req.state() + "'");
      auto before = slot->admin.exchange(static_cast<uint32_t>(*st));
      if (before != static_cast<uint32_t>(*st)) slot->transitions.fetch_add(1);
      std::cerr << "sluice: server " << key << " set to " << health::name(*st)
                << " from the control socket\n";
      break;
    }
    case pb::SetServer::kWeight:
      if (req.weight() > 256) return failure("weight must be 0..256");
      slot->weight.store(req.weight());
      std::cerr << "sluice: server " << key << " weight set to " << req.weight()
                << " from the control socket\n";
      break;
    default: return failure("'set server' needs a state or a weight");
  }
  pb::Response r;
  r.set_ok(true);
  return r;
}

}  // namespace sluice::master::control
