#include "worker/core/resolve.h"

#include <netdb.h>

#include <cstring>

namespace sluice::worker {

std::vector<tcp::endpoint> resolve_host(const std::string& host, uint16_t port,
                                        std::string& error) {
  std::vector<tcp::endpoint> out;
  error_code ec;
  auto literal = asio::ip::make_address(host, ec);
  if (!ec) {
    out.emplace_back(literal, port);
    return out;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0) {
    error = "cannot resolve '" + host + "': " + gai_strerror(rc);
    return out;
  }
  for (addrinfo* p = res; p != nullptr; p = p->ai_next) {
    if (p->ai_family == AF_INET) {
      auto* sa = reinterpret_cast<sockaddr_in*>(p->ai_addr);
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &sa->sin_addr, 4);
      out.emplace_back(asio::ip::address_v4(b), port);
    } else if (p->ai_family == AF_INET6) {
      auto* sa = reinterpret_cast<sockaddr_in6*>(p->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sa->sin6_addr, 16);
      out.emplace_back(asio::ip::address_v6(b), port);
    }
  }
  freeaddrinfo(res);
  if (out.empty()) error = "no IPv4 or IPv6 address for '" + host + "'";
  return out;
}

}  // namespace sluice::worker
