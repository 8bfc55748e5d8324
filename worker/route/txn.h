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

struct txn {
  const http::request* req = nullptr;   // null in mode tcp
  const http::response* res = nullptr;  // set while response rules run
  peer src;
  peer dst;
  bool ssl = false;
  uint64_t req_len = 0;  // request bytes received so far
  // Usable servers of a backend by name ("" = the transaction's backend); -1 if unknown.
  std::function<int64_t(std::string_view)> nbsrv;
  std::string_view frontend_name;
  std::string_view backend_name;
  std::string_view server_name;
};

}  // namespace sluice::worker::route
