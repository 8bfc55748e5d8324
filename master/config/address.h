#pragma once
// Addresses as HAProxy writes them: `bind` endpoints (`*:80`, `:::443`, `10.0.0.1:8000-8010`,
// `ipv6@::1:80`, `[::1]:80`, `unix@/run/x.sock`, `/run/x.sock`), server endpoints
// (host name or IP, optional port), and IP networks for ACLs and `except`.

#include <cstdint>
#include <string>
#include <string_view>

#include "master/config/units.h"
#include "proto/config.pb.h"

namespace sluice::master::config {

struct endpoint {
  std::string host;  // "" = any IPv4 for a bind; numeric or a name for a server
  uint32_t port_first = 0;
  uint32_t port_last = 0;
  bool has_port = false;
  bool ipv6 = false;
  bool numeric = false;   // host is a literal IP (or empty)
  std::string unix_path;  // for unix sockets
};

// One element of a bind's comma-separated list. A port is required.
parsed<endpoint> parse_bind_endpoint(std::string_view word);

// A server address: `name`, `name:port`, `1.2.3.4:80`, `ipv6@::1:80`, `[::1]:80`, `[::1]`.
// The port is optional (then the client's destination port is used).
parsed<endpoint> parse_server_endpoint(std::string_view word);

// `10.0.0.0/8`, `10.0.0.1`, `192.168.0.0/255.255.0.0`, `::1`, `2001:db8::/32`.
parsed<sluice::config::IpNet> parse_ip_net(std::string_view word);

// True when `word` is a literal IPv4 or IPv6 address.
bool is_ip_literal(std::string_view word, bool& ipv6);

}  // namespace sluice::master::config
