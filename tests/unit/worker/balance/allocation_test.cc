// A pick must not allocate once the balancer has seen its backend: it runs for every
// request on the worker's loop. The global operator new is replaced to count.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/unit/worker/balance/helpers.h"

namespace {
std::atomic<long> allocations{0};
}  // namespace

// Out of line: inlined into the callers, GCC pairs the free() below with their `new` and
// reports a mismatch.
[[gnu::noinline]] void* operator new(std::size_t n) {
  allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace sluice::worker::balance {
namespace {

using testing::key_of;
using testing::make_backend;
using testing::views_of;

struct variant {
  const char* name;
  config::Balance balance;
  bool consistent;
};

void PrintTo(const variant& v, std::ostream* os) {
  *os << v.name;
}

class NoAllocation : public ::testing::TestWithParam<variant> {};

TEST_P(NoAllocation, SteadyStatePicksDoNotAllocate) {
  auto be = make_backend(GetParam().balance, {1, 2, 3, 1, 1, 1, 1, 1});
  be.mutable_servers(7)->set_backup(true);
  be.set_hash_consistent(GetParam().consistent);
  auto lb = make_balancer(be, 1);
  auto servers = views_of(be);
  servers[3].usable = false;
  servers[4].maxconn = 1;
  servers[4].active = 1;

  std::vector<std::string> keys;
  for (int i = 0; i < 64; ++i) keys.push_back(key_of(i));
  auto run = [&](int n) {
    size_t sum = 0;
    for (int i = 0; i < n; ++i) {
      pick_request req;
      if (i % 3 != 0) req.key = keys[static_cast<size_t>(i) % keys.size()];
      if (i % 5 == 0) req.exclude = static_cast<size_t>(i) % servers.size();
      const pick_result r = lb->pick(servers, req);
      sum += r.server.value_or(0);
    }
    return sum;
  };
  run(100);
  const long before = allocations.load();
  const size_t sum = run(1000);
  EXPECT_EQ(allocations.load() - before, 0) << "checksum " << sum;
}

INSTANTIATE_TEST_SUITE_P(EveryAlgorithm, NoAllocation,
                         ::testing::Values(variant{"roundrobin", config::BALANCE_ROUNDROBIN, false},
                                           variant{"static_rr", config::BALANCE_STATIC_RR, false},
                                           variant{"leastconn", config::BALANCE_LEASTCONN, false},
                                           variant{"first", config::BALANCE_FIRST, false},
                                           variant{"map_based", config::BALANCE_SOURCE, false},
                                           variant{"consistent", config::BALANCE_SOURCE, true},
                                           variant{"random", config::BALANCE_RANDOM, false}),
                         [](const ::testing::TestParamInfo<variant>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace sluice::worker::balance
