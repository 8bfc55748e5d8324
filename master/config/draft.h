#pragma once
// The state the parser builds while it reads sections, before the compiler resolves
// names: one draft per proxy section, plus the global section.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "master/config/diagnostics.h"
#include "master/config/lexer.h"
#include "proto/config.pb.h"

namespace sluice::master::config {

enum class section { none, global, defaults, frontend, backend, listen, unsupported };

// Section bits for keyword tables.
inline constexpr unsigned in_global = 1u << 0;
inline constexpr unsigned in_defaults = 1u << 1;
inline constexpr unsigned in_frontend = 1u << 2;
inline constexpr unsigned in_backend = 1u << 3;
inline constexpr unsigned in_listen = 1u << 4;
inline constexpr unsigned in_proxies = in_frontend | in_backend | in_listen;
inline constexpr unsigned in_any_proxy = in_defaults | in_proxies;
inline constexpr unsigned in_fe = in_defaults | in_frontend | in_listen;  // frontend side
inline constexpr unsigned in_be = in_defaults | in_backend | in_listen;   // backend side

unsigned section_bit(section s);
const char* section_name(section s);

// What a `defaults` section passes on to the proxies that follow it.
struct proxy_settings {
  sluice::config::Mode mode = sluice::config::MODE_TCP;
  bool mode_set = false;
  sluice::config::Timeouts timeouts;
  sluice::config::Options options;
  std::vector<sluice::config::LogTarget> logs;
  bool log_global = false;
  std::string log_format;
  uint32_t maxconn = 0;
  sluice::config::Balance balance = sluice::config::BALANCE_ROUNDROBIN;
  std::string balance_arg;
  bool balance_hdr_domain_only = false;
  uint32_t random_draws = 2;
  bool balance_uri_whole = false;
  uint32_t balance_uri_depth = 0;
  uint32_t balance_uri_len = 0;
  bool hash_consistent = false;
  std::string hash_function = "sdbm";
  uint32_t retries = 3;
  uint32_t fullconn = 0;
  sluice::config::Server default_server;
  sluice::config::HttpCheck http_check;
  sluice::config::HttpReuse http_reuse = sluice::config::REUSE_SAFE;
  std::vector<sluice::config::ErrorFile> errorfiles;
};

struct pending_backend_ref {
  std::string name;
  location where;
  int use_backend_index = -1;  // -1 = default_backend
};

struct proxy_draft {
  section kind = section::none;
  std::string name;
  location where;
  proxy_settings s;
  bool disabled = false;

  std::vector<sluice::config::Acl> acls;
  std::map<std::string, uint32_t, std::less<>> acl_index;
  std::map<std::string, location, std::less<>> failed_acls;  // lines already reported
  bool bind_seen = false;                                    // a `bind` line, even a bad one

  std::vector<sluice::config::HttpRule> http_request;
  std::vector<sluice::config::HttpRule> redirects;  // `redirect` lines: after http-request
  bool warned_rule_after_redirect = false;
  std::vector<sluice::config::HttpRule> http_response;
  std::vector<sluice::config::HttpRule> legacy_request;
  std::vector<sluice::config::HttpRule> legacy_response;
  // The first line that needs HTTP, for "needs mode http" checks.
  std::optional<location> http_only;
  std::string http_only_word;

  std::vector<sluice::config::Bind> binds;
  std::vector<sluice::config::Frontend::UseBackend> use_backends;
  std::vector<pending_backend_ref> backend_refs;
  bool prometheus_exporter = false;

  std::vector<sluice::config::Server> servers;

  bool is_frontend() const { return kind == section::frontend || kind == section::listen; }
  bool is_backend() const { return kind == section::backend || kind == section::listen; }
  void note_http_only(const location& where, const std::string& word) {
    if (!http_only) {
      http_only = where;
      http_only_word = word;
    }
  }
};

// The global section's TLS settings, applied to each `ssl` bind and server as it is read
// (so, as in HAProxy, they must come before the proxies).
struct tls_defaults {
  std::string crt_base;
  std::string ca_base;
  sluice::config::TlsBind bind;      // ssl-default-bind-*
  sluice::config::TlsServer server;  // ssl-default-server-*
  bool server_verify = true;         // ssl-server-verify required|none
};

// Everything the parser has read so far.
struct parse_state {
  explicit parse_state(diagnostics& d, env_lookup e) : diag(d), env(std::move(e)) {}

  diagnostics& diag;
  env_lookup env;
  sluice::config::Global global;
  tls_defaults tls;
  std::vector<std::string> files;

  std::vector<std::unique_ptr<proxy_draft>> proxies;  // in config order
  std::map<std::string, proxy_settings, std::less<>> named_defaults;
  std::map<std::string, std::vector<location>, std::less<>> defaults_declared;
  proxy_settings last_defaults;
  std::unique_ptr<proxy_draft> defaults;  // the section being read

  bool files_allowed = true;  // errorfile / -f patterns may read files (off when fuzzing)
  section current = section::none;
  proxy_draft* proxy = nullptr;  // the proxy or defaults section being read
};

// One line being parsed: its words, where it is, and the state it applies to.
struct line_context {
  parse_state& st;
  location where;
  const std::vector<std::string>& words;

  proxy_draft& proxy() const { return *st.proxy; }
  void error(std::string msg) const { st.diag.error(where, std::move(msg)); }
  void warning(std::string msg) const { st.diag.warning(where, std::move(msg)); }
  sluice::config::Origin origin() const {
    sluice::config::Origin o;
    o.set_file(where.file);
    o.set_line(where.line);
    return o;
  }
  // Checks that the keyword (words[0..first_arg-1]) got between min and max arguments;
  // reports "'KW' expects ..." and returns false otherwise.
  bool expect_args(size_t first_arg, size_t min, size_t max, const char* usage) const;
  std::string keyword(size_t n = 1) const;  // the first n words joined by spaces
};

}  // namespace sluice::master::config
