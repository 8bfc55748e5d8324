#pragma once
// What rules and ACLs look at: one HTTP transaction (or a TCP connection) as the data
// path holds it while deciding. Views only; the session owns everything.

#include <array>
#include <cstdint>
#include <functional>
#include <string_view>

#include "worker/http/message.h"

namespace sluice::worker::route {

struct peer {
  std::array<uint8_t, 16> addr{};  // IPv4 in the first 4 bytes when !v6
  bool v6 = false;
  uint16_t port = 0;
};

// What the TLS handshake of the client connection settled (views into OpenSSL's strings,
// valid for the connection's life).
struct tls_facts {
  std::string_view sni;       // "" when the client sent none
  std::string_view protocol;  // "TLSv1.3"
  std::string_view cipher;    // "TLS_AES_128_GCM_SHA256"
  std::string_view alpn;
  bool resumed = false;
};

struct txn {
  const http::request* req = nullptr;   // null in mode tcp
  const http::response* res = nullptr;  // set while response rules run
  peer src;
  peer dst;
  const tls_facts* tls = nullptr;  // the client connection's TLS; null when plain
  uint64_t req_len = 0;            // request bytes received so far
  // Usable servers of a backend by name ("" = the transaction's backend); -1 if unknown.
  std::function<int64_t(std::string_view)> nbsrv;
  std::string_view frontend_name;
  std::string_view backend_name;
  std::string_view server_name;
};

}  // namespace sluice::worker::route
