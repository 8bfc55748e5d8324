#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::count_picks;
using testing::make_backend;
using testing::must_pick;
using testing::views_of;

TEST(RoundRobin, WeightsOneTwoThreeGiveExactlyTenTwentyThirtyOfSixty) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {1, 2, 3});
  auto lb = make_balancer(be);
  EXPECT_EQ(count_picks(*lb, views_of(be), 60), (std::vector<int>{10, 20, 30}));
}

TEST(RoundRobin, EveryCycleOfTotalWeightIsExact) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {5, 1, 1});
  auto lb = make_balancer(be, 3);
  const auto servers = views_of(be);
  for (int cycle = 0; cycle < 5; ++cycle) {
    EXPECT_EQ(count_picks(*lb, servers, 7), (std::vector<int>{5, 1, 1})) << "cycle " << cycle;
  }
}

std::vector<size_t> sequence(balancer& lb, const std::vector<server_view>& servers, int n) {
  std::vector<size_t> seq;
  for (int i = 0; i < n; ++i) seq.push_back(must_pick(lb, servers));
  return seq;
}

TEST(RoundRobin, PicksInterleaveInsteadOfBursting) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {1, 2, 3});
  auto lb = make_balancer(be);
  const auto seq = sequence(*lb, views_of(be), 60);
  // Block-wise weighted round robin sends three in a row to s2 (s0 s1 s1 s2 s2 s2).
  size_t run = 1;
  size_t longest = 1;
  for (size_t i = 1; i < seq.size(); ++i) {
    run = seq[i] == seq[i - 1] ? run + 1 : 1;
    longest = std::max(longest, run);
  }
  EXPECT_LE(longest, 2u);
}

TEST(RoundRobin, LightServersAreSpreadBetweenTheHeavyOnesPicks) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {5, 1, 1});
  auto lb = make_balancer(be);
  const auto seq = sequence(*lb, views_of(be), 70);
  for (size_t i = 1; i < seq.size(); ++i) {
    EXPECT_FALSE(seq[i] != 0 && seq[i - 1] != 0) << "s1 and s2 back to back at " << i;
  }
}

TEST(RoundRobin, WeightChangeTakesEffectAtOnce) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  EXPECT_EQ(count_picks(*lb, servers, 10), (std::vector<int>{5, 5}));
  servers[1].weight = 3;
  EXPECT_EQ(count_picks(*lb, servers, 40), (std::vector<int>{10, 30}));
}

TEST(RoundRobin, DownServerIsSkippedAndTheRestKeepTheirRatio) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {1, 2, 3});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[1].usable = false;
  EXPECT_EQ(count_picks(*lb, servers, 60), (std::vector<int>{15, 0, 45}));
}

TEST(RoundRobin, SeedRotatesTheStartAmongEqualWeights) {
  auto be = make_backend(config::BALANCE_ROUNDROBIN, {1, 1, 1});
  const auto servers = views_of(be);
  for (uint32_t seed : {0u, 1u, 2u, 5u}) {
    auto lb = make_balancer(be, seed);
    const size_t first = must_pick(*lb, servers);
    EXPECT_EQ(first, seed % 3) << "seed " << seed;
    auto counts = count_picks(*lb, servers, 29);
    ++counts[first];
    EXPECT_EQ(counts, (std::vector<int>{10, 10, 10})) << "seed " << seed;
  }
}

}  // namespace
}  // namespace sluice::worker::balance
