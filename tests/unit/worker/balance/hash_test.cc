#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::count_picks;
using testing::key_of;
using testing::make_backend;
using testing::must_pick;
using testing::views_of;

config::Backend hashed(std::vector<uint32_t> weights, bool consistent, const std::string& fn = "") {
  auto be = make_backend(config::BALANCE_SOURCE, weights);
  be.set_hash_consistent(consistent);
  be.set_hash_function(fn);
  return be;
}

size_t pick_key(balancer& lb, const std::vector<server_view>& servers, const std::string& key,
                std::optional<size_t> exclude = std::nullopt) {
  pick_request req;
  req.key = key;
  req.exclude = exclude;
  return must_pick(lb, servers, req);
}

// Where each of `n` keys goes.
std::vector<size_t> mapping(balancer& lb, const std::vector<server_view>& servers, int n) {
  std::vector<size_t> out;
  for (int i = 0; i < n; ++i) out.push_back(pick_key(lb, servers, key_of(i)));
  return out;
}

double moved_share(const std::vector<size_t>& a, const std::vector<size_t>& b) {
  int moved = 0;
  for (size_t i = 0; i < a.size(); ++i) moved += a[i] != b[i] ? 1 : 0;
  return static_cast<double>(moved) / static_cast<double>(a.size());
}

class HashBoth : public ::testing::TestWithParam<bool> {};

TEST_P(HashBoth, SameKeySameServerWhateverTheWorkerAndOrder) {
  for (const char* fn : {"", "sdbm", "djb2", "wt6", "crc32", "sdbm+avalanche"}) {
    auto be = hashed({1, 1, 1, 1}, GetParam(), fn);
    auto a = make_balancer(be, 0);
    auto b = make_balancer(be, 7);
    const auto servers = views_of(be);
    const auto first = mapping(*a, servers, 200);
    EXPECT_EQ(mapping(*a, servers, 200), first) << fn;
    EXPECT_EQ(mapping(*b, servers, 200), first) << fn << ": the seed must not matter";
  }
}

TEST_P(HashBoth, KeysSpreadOverEveryServerByWeight) {
  auto be = hashed({1, 1, 2}, GetParam());
  auto lb = make_balancer(be);
  const auto servers = views_of(be);
  std::vector<int> counts(3, 0);
  for (size_t s : mapping(*lb, servers, 8000)) ++counts[s];
  // Consistent hashing with 16 points per weight unit is looser than the map.
  const double tolerance = GetParam() ? 0.3 : 0.15;
  EXPECT_NEAR(counts[0], 2000, 2000 * tolerance);
  EXPECT_NEAR(counts[1], 2000, 2000 * tolerance);
  EXPECT_NEAR(counts[2], 4000, 4000 * tolerance);
  EXPECT_GT(counts[2], counts[0]);
  EXPECT_GT(counts[2], counts[1]);
}

TEST_P(HashBoth, WithoutKeyFallsBackToRoundRobin) {
  auto be = hashed({1, 2, 3}, GetParam());
  be.set_balance(config::BALANCE_URL_PARAM);
  auto lb = make_balancer(be);
  EXPECT_EQ(count_picks(*lb, views_of(be), 60), (std::vector<int>{10, 20, 30}));
}

TEST_P(HashBoth, FullOrExcludedServerDivertsItsOwnKeysOnly) {
  auto be = hashed({1, 1, 1, 1}, GetParam());
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  const auto before = mapping(*lb, servers, 1000);
  servers[2].maxconn = 1;
  servers[2].active = 1;
  const auto full = mapping(*lb, servers, 1000);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] == 2) {
      EXPECT_NE(full[i], 2u);
    } else {
      EXPECT_EQ(full[i], before[i]) << key_of(static_cast<int>(i));
    }
  }

  servers[2].active = 0;
  for (int i = 0; i < 1000; ++i) {
    const size_t excluded = before[static_cast<size_t>(i)];
    EXPECT_NE(pick_key(*lb, servers, key_of(i), excluded), excluded);
  }
  EXPECT_EQ(mapping(*lb, servers, 1000), before) << "back to normal once free again";
}

INSTANTIATE_TEST_SUITE_P(MapAndConsistent, HashBoth, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "consistent" : "map_based");
                         });

TEST(HashConsistent, AddingAFifthServerMovesAboutAFifthOfTheKeys) {
  auto four = hashed({1, 1, 1, 1}, true);
  auto five = hashed({1, 1, 1, 1, 1}, true);
  auto lb4 = make_balancer(four);
  auto lb5 = make_balancer(five);
  const auto before = mapping(*lb4, views_of(four), 10000);
  const auto after = mapping(*lb5, views_of(five), 10000);
  const double moved = moved_share(before, after);
  EXPECT_LT(moved, 0.35);
  EXPECT_GT(moved, 0.05);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] != after[i]) {
      EXPECT_EQ(after[i], 4u) << "keys only move to the new server";
    }
  }
}

TEST(HashConsistent, EveryHashFunctionSpreadsSimilarKeysOverTheRing) {
  // Without avalanche, sdbm and djb2 put keys that differ in their last characters close
  // together on the ring, where a few arcs take most of them.
  for (const char* fn : {"", "sdbm", "djb2", "wt6", "crc32"}) {
    auto be = hashed({1, 1, 1, 1, 1}, true, fn);
    auto lb = make_balancer(be);
    std::vector<int> counts(5, 0);
    for (size_t s : mapping(*lb, views_of(be), 10000)) ++counts[s];
    for (int c : counts) EXPECT_GT(c, 1000) << fn;
  }
}

TEST(HashMapBased, AddingAFifthServerMovesMostKeys) {
  auto four = hashed({1, 1, 1, 1}, false);
  auto five = hashed({1, 1, 1, 1, 1}, false);
  auto lb4 = make_balancer(four);
  auto lb5 = make_balancer(five);
  EXPECT_GT(moved_share(mapping(*lb4, views_of(four), 10000), mapping(*lb5, views_of(five), 10000)),
            0.5);
}

TEST(HashConsistent, ServerGoingDownMovesOnlyItsKeys) {
  auto be = hashed({1, 1, 1, 1, 1}, true);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  const auto before = mapping(*lb, servers, 5000);
  servers[1].usable = false;
  const auto after = mapping(*lb, servers, 5000);
  for (size_t i = 0; i < before.size(); ++i) {
    if (before[i] != 1) {
      EXPECT_EQ(after[i], before[i]);
    }
  }
  servers[1].usable = true;
  EXPECT_EQ(mapping(*lb, servers, 5000), before) << "the ring is rebuilt as it was";
}

TEST(HashConsistent, PointsFollowServerNamesNotPositions) {
  auto be = hashed({1, 1, 1, 1}, true);
  auto lb = make_balancer(be);
  const auto before = mapping(*lb, views_of(be), 5000);

  // The same servers with a new one inserted first: nobody but the newcomer gains keys.
  auto grown = hashed({1, 1, 1, 1, 1}, true);
  for (int i = 0; i < 5; ++i) {
    grown.mutable_servers(i)->set_name(i == 0 ? "new" : "s" + std::to_string(i - 1));
  }
  auto lb2 = make_balancer(grown);
  const auto after = mapping(*lb2, views_of(grown), 5000);
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_TRUE(after[i] == 0 || after[i] == before[i] + 1) << key_of(static_cast<int>(i));
  }
}

TEST(HashConsistent, DynamicWeightChangeShiftsShare) {
  auto be = hashed({1, 1}, true);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  auto share_of_1 = [&] {
    int n = 0;
    for (size_t s : mapping(*lb, servers, 4000)) n += s == 1 ? 1 : 0;
    return n;
  };
  const int even = share_of_1();
  servers[1].weight = 8;
  EXPECT_GT(share_of_1(), even + 1000);
}

TEST(HashMapBased, RunTimeWeightChangeIsIgnored) {
  auto be = hashed({1, 1}, false);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  const auto before = mapping(*lb, servers, 2000);
  servers[1].weight = 8;
  EXPECT_EQ(mapping(*lb, servers, 2000), before);
}

TEST(HashMapBased, MatchesHashModuloTotalWeight) {
  // sdbm("a") = 97 -> slot 97 % 6 = 1 (s0 has slot 0, s1 slots 1-2, s2 slots 3-5).
  auto be = hashed({1, 2, 3}, false);
  auto lb = make_balancer(be);
  const auto servers = views_of(be);
  EXPECT_EQ(pick_key(*lb, servers, "a"), 1u);
  EXPECT_EQ(pick_key(*lb, servers, "c"), 2u);  // 99 % 6 = 3
  EXPECT_EQ(pick_key(*lb, servers, "f"), 0u);  // 102 % 6 = 0
}

}  // namespace
}  // namespace sluice::worker::balance
