#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::make_backend;
using testing::must_pick;
using testing::views_of;

TEST(LeastConn, PicksTheServerWithFewestConnections) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].active = 5;
  servers[1].active = 2;
  servers[2].active = 7;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(must_pick(*lb, servers), 1u);
}

TEST(LeastConn, LoadIsRelativeToWeight) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 4});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].active = 1;  // (1 + 1) / 1 = 2
  servers[1].active = 6;  // (6 + 1) / 4 = 1.75
  EXPECT_EQ(must_pick(*lb, servers), 1u);
  servers[1].active = 8;  // 9 / 4 = 2.25
  EXPECT_EQ(must_pick(*lb, servers), 0u);
}

TEST(LeastConn, AmongIdleServersTheHeavierIsPreferred) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 3});
  auto lb = make_balancer(be);
  const auto servers = views_of(be);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(must_pick(*lb, servers), 1u);
}

TEST(LeastConn, TiesTakeTurns) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 1, 1});
  auto lb = make_balancer(be);
  const auto servers = views_of(be);
  std::vector<size_t> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(must_pick(*lb, servers));
  EXPECT_EQ(seq, (std::vector<size_t>{0, 1, 2, 0, 1, 2}));
}

TEST(LeastConn, TiesSkipTheBusyServerAndKeepRotating) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[1].active = 3;
  std::vector<size_t> seq;
  for (int i = 0; i < 6; ++i) seq.push_back(must_pick(*lb, servers));
  EXPECT_EQ(seq, (std::vector<size_t>{0, 2, 3, 0, 2, 3}));
}

TEST(LeastConn, SeedChangesWhereTurnsStart) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 1, 1});
  const auto servers = views_of(be);
  EXPECT_EQ(must_pick(*make_balancer(be, 0), servers), 0u);
  EXPECT_EQ(must_pick(*make_balancer(be, 1), servers), 1u);
  EXPECT_EQ(must_pick(*make_balancer(be, 5), servers), 2u);
}

TEST(LeastConn, LongLivedConnectionsEndUpInProportionToWeight) {
  auto be = make_backend(config::BALANCE_LEASTCONN, {1, 2, 3});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  for (int i = 0; i < 60; ++i) ++servers[must_pick(*lb, servers)].active;
  EXPECT_NEAR(servers[0].active, 10, 1);
  EXPECT_NEAR(servers[1].active, 20, 1);
  EXPECT_NEAR(servers[2].active, 30, 1);
}

}  // namespace
}  // namespace sluice::worker::balance
