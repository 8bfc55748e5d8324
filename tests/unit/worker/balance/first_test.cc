#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::make_backend;
using testing::must_pick;
using testing::views_of;

TEST(First, FillsServersInConfigOrder) {
  auto be = make_backend(config::BALANCE_FIRST, {1, 1, 1});
  for (auto& s : *be.mutable_servers()) s.set_maxconn(2);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  std::vector<size_t> seq;
  for (int i = 0; i < 6; ++i) {
    const size_t s = must_pick(*lb, servers);
    ++servers[s].active;
    seq.push_back(s);
  }
  EXPECT_EQ(seq, (std::vector<size_t>{0, 0, 1, 1, 2, 2}));
  const pick_result r = lb->pick(servers, {});
  EXPECT_FALSE(r.server);
  EXPECT_TRUE(r.full);

  --servers[1].active;  // a slot frees up in the middle
  EXPECT_EQ(must_pick(*lb, servers), 1u);
}

TEST(First, WithoutMaxconnTheFirstUsableServerTakesEverything) {
  auto be = make_backend(config::BALANCE_FIRST, {1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].active = 1000;
  EXPECT_EQ(must_pick(*lb, servers), 0u);
  servers[0].usable = false;
  EXPECT_EQ(must_pick(*lb, servers), 1u);
}

TEST(First, WeightDoesNotChangeTheOrder) {
  auto be = make_backend(config::BALANCE_FIRST, {1, 100});
  auto lb = make_balancer(be);
  EXPECT_EQ(must_pick(*lb, views_of(be)), 0u);
}

}  // namespace
}  // namespace sluice::worker::balance
