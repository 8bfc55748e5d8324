#include "worker/core/proxies.h"

#include "worker/core/resolve.h"

namespace sluice::worker {

std::optional<size_t> backend_runtime::pick(std::optional<size_t> exclude) {
  // Active servers first; backups only when no active one is usable (first backup only,
  // unless `option allbackups`).
  for (bool backup : {false, true}) {
    std::optional<size_t> fallback;
    size_t n = servers.size();
    for (size_t k = 0; k < n; ++k) {
      size_t i = (rr_next + k) % n;
      const server_runtime& s = servers[i];
      if (s.cfg->backup() != backup || !s.accepts_new_traffic()) continue;
      if (exclude && *exclude == i) {
        fallback = i;
        continue;
      }
      rr_next = i + 1;
      return i;
    }
    if (fallback) return fallback;
  }
  return std::nullopt;
}

proxies build_proxies(const sluice::config::Config& cfg, const health::table* table,
                      std::vector<std::string>& errors) {
  proxies p;
  for (const auto& be : cfg.backends()) {
    auto rt = std::make_unique<backend_runtime>();
    rt->cfg = &be;
    for (const auto& srv : be.servers()) {
      server_runtime s;
      s.cfg = &srv;
      if (table != nullptr) {
        s.slot = table->find(be.name() + "/" + srv.name());
        if (s.slot == nullptr)
          errors.push_back("no shared table slot for " + be.name() + "/" + srv.name());
      }
      std::string error;
      s.endpoints = resolve_host(srv.address(), static_cast<uint16_t>(srv.port()), error);
      if (s.endpoints.empty()) {
        errors.push_back(srv.origin().file() + ":" + std::to_string(srv.origin().line()) +
                         ": server '" + be.name() + "/" + srv.name() + "': " + error);
      }
      rt->servers.push_back(std::move(s));
    }
    p.backends.push_back(std::move(rt));
  }
  for (const auto& fe : cfg.frontends()) {
    frontend_runtime f;
    f.cfg = &fe;
    if (fe.has_default_backend()) f.default_backend = p.backends[fe.default_backend()].get();
    p.frontends.push_back(f);
  }
  return p;
}

}  // namespace sluice::worker
