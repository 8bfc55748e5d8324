#include "master/config/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace sluice::master::config {

bool is_ip_literal(std::string_view word, bool& ipv6) {
  std::string s(word);
  unsigned char buf[16];
  if (inet_pton(AF_INET, s.c_str(), buf) == 1) {
    ipv6 = false;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    ipv6 = true;
    return true;
  }
  return false;
}

namespace {

bool valid_host_name(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// Splits "host:port" where the LAST colon separates the port (HAProxy's rule, so
// ":::80" is host "::" port 80). Brackets are accepted around IPv6 hosts.
bool split_host_port(std::string_view w, std::string_view& host, std::string_view& port,
                     bool& has_port) {
  if (!w.empty() && w[0] == '[') {
    size_t close = w.find(']');
    if (close == std::string_view::npos) return false;
    host = w.substr(1, close - 1);
    std::string_view rest = w.substr(close + 1);
    if (rest.empty()) {
      has_port = false;
      return true;
    }
    if (rest[0] != ':') return false;
    port = rest.substr(1);
    has_port = true;
    return true;
  }
  size_t colon = w.rfind(':');
  if (colon == std::string_view::npos) {
    host = w;
    has_port = false;
    return true;
  }
  host = w.substr(0, colon);
  port = w.substr(colon + 1);
  has_port = true;
  return true;
}

parsed<uint32_t> parse_port(std::string_view p, std::string_view whole) {
  parsed<uint32_t> r;
  auto v = parse_int(p, 1, 65535);
  if (!v) {
    r.error =
        "invalid port '" + std::string(p) + "' in '" + std::string(whole) + "' (expected 1..65535)";
    return r;
  }
  r.value = static_cast<uint32_t>(v.value);
  return r;
}

}  // namespace

parsed<endpoint> parse_bind_endpoint(std::string_view word) {
  parsed<endpoint> r;
  std::string_view w = word;
  bool force_v4 = false, force_v6 = false;
  if (w.starts_with("unix@") || w.starts_with("/")) {
    r.value.unix_path = std::string(w.starts_with("unix@") ? w.substr(5) : w);
    if (r.value.unix_path.empty()) r.error = "missing path after 'unix@'";
    return r;
  }
  if (w.starts_with("ipv4@")) {
    force_v4 = true;
    w.remove_prefix(5);
  } else if (w.starts_with("ipv6@")) {
    force_v6 = true;
    w.remove_prefix(5);
  } else if (size_t at = w.find('@'); at != std::string_view::npos) {
    r.error = "address family '" + std::string(w.substr(0, at + 1)) +
              "' is not supported by sluice (supported: ipv4@, ipv6@, unix@)";
    return r;
  }
  std::string_view host, port;
  bool has_port = false;
  if (!split_host_port(w, host, port, has_port)) {
    r.error = "invalid address '" + std::string(word) + "'";
    return r;
  }
  if (!has_port || port.empty()) {
    r.error = "missing port in bind address '" + std::string(word) + "' (expected ADDR:PORT)";
    return r;
  }
  endpoint& e = r.value;
  if (host == "*" || host.empty()) {
    e.host = force_v6 ? "::" : "";
    e.ipv6 = force_v6;
    e.numeric = true;
  } else {
    bool v6 = false;
    if (!is_ip_literal(host, v6)) {
      r.error = "invalid bind address '" + std::string(host) + "' in '" + std::string(word) +
                "' (expected an IPv4 or IPv6 address, or '*')";
      return r;
    }
    if ((force_v4 && v6) || (force_v6 && !v6)) {
      r.error = "address '" + std::string(host) + "' does not match its family prefix";
      return r;
    }
    e.host = std::string(host);
    e.ipv6 = v6;
    e.numeric = true;
  }
  size_t dash = port.find('-');
  auto first = parse_port(port.substr(0, dash), word);
  if (!first) {
    r.error = first.error;
    return r;
  }
  e.port_first = e.port_last = first.value;
  if (dash != std::string_view::npos) {
    auto last = parse_port(port.substr(dash + 1), word);
    if (!last) {
      r.error = last.error;
      return r;
    }
    if (last.value < first.value) {
      r.error = "port range '" + std::string(port) + "' ends before it starts";
      return r;
    }
    e.port_last = last.value;
  }
  e.has_port = true;
  return r;
}

parsed<endpoint> parse_server_endpoint(std::string_view word) {
  parsed<endpoint> r;
  std::string_view w = word;
  if (w.starts_with("unix@") || w.starts_with("/")) {
    r.value.unix_path = std::string(w.starts_with("unix@") ? w.substr(5) : w);
    return r;
  }
  bool force_v6 = false;
  if (w.starts_with("ipv4@")) {
    w.remove_prefix(5);
  } else if (w.starts_with("ipv6@")) {
    force_v6 = true;
    w.remove_prefix(5);
  } else if (size_t at = w.find('@'); at != std::string_view::npos) {
    r.error = "address family '" + std::string(w.substr(0, at + 1)) +
              "' is not supported by sluice (supported: ipv4@, ipv6@, unix@)";
    return r;
  }
  std::string_view host, port;
  bool has_port = false;
  bool v6 = false;
  // As in HAProxy, the last colon separates the port, also after an IPv6 address
  // ("2001:db8::10:8080"); an IPv6 address without a port needs brackets ("[::1]").
  if (!split_host_port(w, host, port, has_port)) {
    r.error = "invalid address '" + std::string(word) + "'";
    return r;
  }
  endpoint& e = r.value;
  if (is_ip_literal(host, v6)) {
    e.numeric = true;
    e.ipv6 = v6;
  } else if (!valid_host_name(host) || force_v6) {
    r.error = "invalid server address '" + std::string(word) +
              "' (expected an IP address or a host name, with an optional :PORT)";
    return r;
  }
  e.host = std::string(host);
  if (has_port) {
    if (port.empty()) {
      r.error = "missing port after ':' in '" + std::string(word) + "'";
      return r;
    }
    if (port[0] == '+' || port[0] == '-') {
      r.error = "port offsets ('" + std::string(port) + "') are not supported by sluice";
      return r;
    }
    auto p = parse_port(port, word);
    if (!p) {
      r.error = p.error;
      return r;
    }
    e.port_first = e.port_last = p.value;
    e.has_port = true;
  }
  return r;
}

parsed<sluice::config::IpNet> parse_ip_net(std::string_view word) {
  parsed<sluice::config::IpNet> r;
  size_t slash = word.find('/');
  std::string addr(word.substr(0, slash));
  unsigned char buf[16];
  bool v6 = false;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    r.value.set_address(std::string(reinterpret_cast<char*>(buf), 4));
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    v6 = true;
    r.value.set_address(std::string(reinterpret_cast<char*>(buf), 16));
  } else {
    r.error = "'" + std::string(word) + "' is not an IP address or network";
    return r;
  }
  uint32_t max = v6 ? 128 : 32;
  uint32_t prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view mask = word.substr(slash + 1);
    unsigned char m[4];
    if (!v6 && mask.find('.') != std::string_view::npos &&
        inet_pton(AF_INET, std::string(mask).c_str(), m) == 1) {
      uint32_t bits =
          (uint32_t(m[0]) << 24) | (uint32_t(m[1]) << 16) | (uint32_t(m[2]) << 8) | m[3];
      prefix = 0;
      while (prefix < 32 && (bits & (0x80000000u >> prefix))) ++prefix;
      if (prefix < 32 && (bits << prefix) != 0) {
        r.error = "netmask '" + std::string(mask) + "' is not contiguous";
        return r;
      }
    } else {
      auto p = parse_int(mask, 0, max);
      if (!p) {
        r.error = "invalid prefix length '" + std::string(mask) + "' in '" + std::string(word) +
                  "' (0.." + std::to_string(max) + ")";
        return r;
      }
      prefix = static_cast<uint32_t>(p.value);
    }
  }
  r.value.set_prefix(prefix);
  return r;
}

}  // namespace sluice::master::config
