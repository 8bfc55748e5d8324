#pragma once
// Resolves server addresses once, when a worker starts (as HAProxy's init-addr libc):
// name lookups block, so they never happen on the data path.

#include <string>
#include <vector>

#include "worker/core/asio.h"

namespace sluice::worker {

// The endpoints of `host` (a literal address or a name) on `port`. Empty on failure, with
// `error` set.
std::vector<tcp::endpoint> resolve_host(const std::string& host, uint16_t port, std::string& error);

}  // namespace sluice::worker
