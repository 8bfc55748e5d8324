#include "worker/core/proxies.h"

#include <algorithm>
#include <chrono>

#include "worker/core/resolve.h"

namespace sluice::worker {

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

balance::pick_result backend_runtime::pick(const balance::pick_request& req) {
  views_.resize(servers.size());
  const uint64_t now = slowstart ? wall_ms() : 0;
  for (size_t i = 0; i < servers.size(); ++i) {
    const server_runtime& s = servers[i];
    balance::server_view& v = views_[i];
    v.usable = s.accepts_new_traffic();
    v.weight = s.slot != nullptr ? s.slot->weight.load(std::memory_order_relaxed) : s.cfg->weight();
    if (now != 0 && s.slot != nullptr && s.cfg->slowstart_ms() != 0) {
      uint64_t since = s.slot->last_change_ms.load(std::memory_order_relaxed);
      if (since != 0 && now > since && !s.down()) {
        v.weight = health::slowstart_weight(v.weight, s.cfg->slowstart_ms(), now - since);
      }
    }
    v.backup = s.cfg->backup();
    v.active = s.active;
    v.maxconn = s.cfg->maxconn();
  }
  return balancer->pick(views_, req);
}

uint32_t backend_runtime::usable_servers() const {
  // As HAProxy's nbsrv: the usable active servers, else the backups that would serve.
  uint32_t active = 0, backup = 0;
  for (const auto& s : servers) {
    if (!s.accepts_new_traffic()) continue;
    (s.cfg->backup() ? backup : active) += 1;
  }
  if (active != 0) return active;
  return cfg->options().allbackups() ? backup : std::min<uint32_t>(backup, 1);
}

int64_t proxies::nbsrv(std::string_view name, const backend_runtime* current) const {
  const backend_runtime* be = name.empty() ? current : backend_named(name);
  return be != nullptr ? static_cast<int64_t>(be->usable_servers()) : -1;
}

backend_runtime* choose_backend(const frontend_runtime& fe, const proxies& px, route::txn& t) {
  const auto& rules = *fe.rules;
  for (int i = 0; i < fe.cfg->use_backends_size(); ++i) {
    const auto& ub = fe.cfg->use_backends(i);
    if (!rules.acls.holds_if_present(ub.has_condition(), ub.condition(), t)) continue;
    if (!ub.dynamic_name().empty()) {
      thread_local std::string name;
      name.clear();
      fe.backend_names[static_cast<size_t>(i)].render(t, name);
      if (backend_runtime* be = px.backend_named(name)) return be;
      continue;
    }
    return px.backends[ub.backend()].get();
  }
  return fe.default_backend;
}

void backend_runtime::release(size_t i) {
  if (servers[i].active > 0) {
    servers[i].active--;
    active--;
  }
  if (!queue.empty()) {
    asio::steady_timer* first = queue.front();
    queue.erase(queue.begin());
    first->cancel();
  }
}

backend_runtime* proxies::backend_named(std::string_view name) const {
  for (const auto& b : backends) {
    if (b->cfg->name() == name) return b.get();
  }
  return nullptr;
}

proxies build_proxies(const sluice::config::Config& cfg, const health::table* table,
                      std::vector<std::string>& errors, uint32_t seed) {
  proxies p;
  for (const auto& be : cfg.backends()) {
    auto rt = std::make_unique<backend_runtime>();
    rt->cfg = &be;
    rt->balancer = balance::make_balancer(be, seed);
    rt->rules = std::make_unique<proxy_rules>(be.acls(), be.http_request(), be.legacy_request(),
                                              be.http_response(), be.legacy_response());
    for (const auto& srv : be.servers()) {
      server_runtime s;
      s.cfg = &srv;
      if (srv.slowstart_ms() != 0) rt->slowstart = true;
      if (table != nullptr) {
        s.slot = table->find(be.name() + "/" + srv.name());
        if (s.slot == nullptr)
          errors.push_back("no shared table slot for " + be.name() + "/" + srv.name());
      }
      auto report = [&](const std::string& what) {
        errors.push_back(srv.origin().file() + ":" + std::to_string(srv.origin().line()) +
                         ": server '" + be.name() + "/" + srv.name() + "': " + what);
      };
      std::string error;
      s.endpoints = resolve_host(srv.address(), static_cast<uint16_t>(srv.port()), error);
      if (s.endpoints.empty()) report(error);
      if (srv.pool_max_conn_set()) s.pool_max = srv.pool_max_conn();
      if (srv.pool_purge_delay_ms() != 0) {
        s.pool_purge = std::chrono::milliseconds(srv.pool_purge_delay_ms());
      }
      if (srv.ssl()) {
        s.tls = tls::client_context::build(srv.tls(), error);
        if (!s.tls) report("TLS: " + error);
        if (!srv.tls().sni().empty()) s.sni = std::make_shared<route::format>(srv.tls().sni());
        if (s.sni && !s.sni->literal()) s.pool_max = 0;
      }
      rt->servers.push_back(std::move(s));
    }
    p.backends.push_back(std::move(rt));
  }
  for (const auto& fe : cfg.frontends()) {
    auto f = std::make_unique<frontend_runtime>();
    f->cfg = &fe;
    f->index = p.frontends.size();
    for (const auto& ub : fe.use_backends()) f->backend_names.emplace_back(ub.dynamic_name());
    if (fe.has_default_backend()) f->default_backend = p.backends[fe.default_backend()].get();
    f->rules = std::make_unique<proxy_rules>(fe.acls(), fe.http_request(), fe.legacy_request(),
                                             fe.http_response(), fe.legacy_response());
    p.frontends.push_back(std::move(f));
  }
  return p;
}

}  // namespace sluice::worker
