#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::count_picks;
using testing::make_backend;
using testing::views_of;

TEST(StaticRr, WeightsOneTwoThreeGiveExactlyTenTwentyThirtyOfSixty) {
  auto be = make_backend(config::BALANCE_STATIC_RR, {1, 2, 3});
  auto lb = make_balancer(be);
  EXPECT_EQ(count_picks(*lb, views_of(be), 60), (std::vector<int>{10, 20, 30}));
}

TEST(StaticRr, RunTimeWeightChangesAreIgnored) {
  auto be = make_backend(config::BALANCE_STATIC_RR, {1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].weight = 5;
  servers[2].weight = 2;
  EXPECT_EQ(count_picks(*lb, servers, 60), (std::vector<int>{20, 20, 20}));
}

TEST(StaticRr, WeightToZeroAndBackIsHonoured) {
  auto be = make_backend(config::BALANCE_STATIC_RR, {1, 2, 3});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[2].weight = 0;
  EXPECT_EQ(count_picks(*lb, servers, 30), (std::vector<int>{10, 20, 0}));
  servers[2].weight = 1;  // back with its configured weight 3, not 1
  EXPECT_EQ(count_picks(*lb, servers, 60), (std::vector<int>{10, 20, 30}));
}

TEST(StaticRr, DownServerIsSkipped) {
  auto be = make_backend(config::BALANCE_STATIC_RR, {1, 2, 3});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].usable = false;
  EXPECT_EQ(count_picks(*lb, servers, 50), (std::vector<int>{0, 20, 30}));
}

}  // namespace
}  // namespace sluice::worker::balance
