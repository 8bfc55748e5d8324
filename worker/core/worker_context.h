#pragma once
// What every session of a worker shares: the proxies, the idle upstream connections, the
// parser limits and the access log.

#include <cstdint>

#include "proto/config.pb.h"
#include "stats/counters.h"
#include "worker/core/buffer_pool.h"
#include "worker/core/splice.h"
#include "worker/http/parser.h"
#include "worker/upstream/pool.h"

namespace sluice::worker {

struct proxies;
class access_log;

struct worker_context {
  const sluice::config::Config* cfg = nullptr;
  proxies* px = nullptr;
  server_pool pool;
  http::limits limits;
  uint32_t bufsize = 16384;
  buffer_pool buffers;     // of bufsize bytes
  pipe_pool pipes;         // for splice() in mode tcp
  uint32_t lingering = 0;  // keep-alive sessions waiting a moment before they park
  access_log* log = nullptr;
  stats::counter_block* process_counters = nullptr;  // null when nothing is counted
};

}  // namespace sluice::worker
