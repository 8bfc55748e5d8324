#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::count_picks;
using testing::make_backend;
using testing::must_pick;
using testing::views_of;

config::Backend random_backend(std::vector<uint32_t> weights, uint32_t draws) {
  auto be = make_backend(config::BALANCE_RANDOM, weights);
  be.set_random_draws(draws);
  return be;
}

TEST(Random, OneDrawIsWeightedRandom) {
  auto be = random_backend({1, 3}, 1);
  auto lb = make_balancer(be, 11);
  const auto counts = count_picks(*lb, views_of(be), 8000);
  EXPECT_NEAR(counts[0], 2000, 200);
  EXPECT_NEAR(counts[1], 6000, 200);
}

TEST(Random, TwoDrawsPreferTheLessLoadedServer) {
  auto be = random_backend({1, 1}, 2);
  auto lb = make_balancer(be, 3);
  auto servers = views_of(be);
  servers[0].active = 10;
  // s0 wins only when both draws land on it: 1 in 4.
  const auto counts = count_picks(*lb, servers, 4000);
  EXPECT_NEAR(counts[1], 3000, 200);

  auto one = random_backend({1, 1}, 1);
  auto lb1 = make_balancer(one, 3);
  const auto plain = count_picks(*lb1, servers, 4000);
  EXPECT_NEAR(plain[1], 2000, 200) << "a single draw ignores the load";
}

TEST(Random, DrawsDefaultToTwo) {
  auto be = random_backend({1, 1}, 0);
  auto lb = make_balancer(be, 5);
  auto servers = views_of(be);
  servers[0].active = 10;
  const auto counts = count_picks(*lb, servers, 4000);
  EXPECT_NEAR(counts[1], 3000, 200);
}

TEST(Random, ManyDrawsAlmostAlwaysFindTheIdleServer) {
  auto be = random_backend({1, 1, 1, 1}, 20);
  auto lb = make_balancer(be, 9);
  auto servers = views_of(be);
  for (size_t i : {0, 1, 3}) servers[i].active = 4;
  const auto counts = count_picks(*lb, servers, 1000);
  EXPECT_GT(counts[2], 990);
}

TEST(Random, SeedDecidesTheSequence) {
  auto be = random_backend({1, 1, 1, 1}, 1);
  const auto servers = views_of(be);
  auto sequence = [&](uint32_t seed) {
    auto lb = make_balancer(be, seed);
    std::vector<size_t> seq;
    for (int i = 0; i < 64; ++i) seq.push_back(must_pick(*lb, servers));
    return seq;
  };
  EXPECT_EQ(sequence(1), sequence(1));
  EXPECT_NE(sequence(1), sequence(2));
  EXPECT_NE(sequence(0), sequence(1));
}

}  // namespace
}  // namespace sluice::worker::balance
