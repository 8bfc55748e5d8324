// The rules every algorithm shares (balancer.h): usable servers only, the backup rule,
// maxconn and exclude. Each test runs against every algorithm.

#include <gtest/gtest.h>

#include "tests/unit/worker/balance/helpers.h"

namespace sluice::worker::balance {
namespace {

using testing::count_picks;
using testing::key_of;
using testing::make_backend;
using testing::views_of;

struct algo {
  const char* name;
  config::Balance balance;
  bool consistent = false;
  bool keyed = false;   // hashing: vary the key per pick
  bool spreads = true;  // false for `first`, which sends everything to one server
};

void PrintTo(const algo& a, std::ostream* os) {
  *os << a.name;
}

class Rules : public ::testing::TestWithParam<algo> {
 protected:
  config::Backend backend(const std::vector<uint32_t>& weights) const {
    auto b = make_backend(GetParam().balance, weights);
    b.set_hash_consistent(GetParam().consistent);
    return b;
  }

  // Counts of `n` picks; hashing algorithms see a different key for each pick.
  std::vector<int> picks(balancer& lb, const std::vector<server_view>& servers, int n,
                         std::optional<size_t> exclude = std::nullopt) const {
    std::vector<int> counts(servers.size(), 0);
    for (int i = 0; i < n; ++i) {
      const std::string key = key_of(i);
      pick_request req;
      if (GetParam().keyed) req.key = key;
      req.exclude = exclude;
      const pick_result r = lb.pick(servers, req);
      EXPECT_TRUE(r.server.has_value());
      EXPECT_FALSE(r.full);
      if (r.server) ++counts[*r.server];
    }
    return counts;
  }
};

TEST_P(Rules, NoUsableServerGivesNothingAndIsNotFull) {
  auto be = backend({1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].usable = false;
  servers[1].weight = 0;
  pick_result r = lb->pick(servers, {});
  EXPECT_FALSE(r.server);
  EXPECT_FALSE(r.full);

  r = lb->pick(std::span<const server_view>{}, {});
  EXPECT_FALSE(r.server);
  EXPECT_FALSE(r.full);
}

TEST_P(Rules, DownAndZeroWeightServersAreNeverPicked) {
  auto be = backend({1, 1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].usable = false;
  servers[2].weight = 0;
  const auto counts = picks(*lb, servers, 200);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[2], 0);
  EXPECT_EQ(counts[1] + counts[3], 200);
  if (GetParam().spreads) {
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[3], 0);
  }
}

TEST_P(Rules, BackupsServeOnlyWhenNoActiveServerIsUsable) {
  auto be = backend({1, 1, 1, 1});
  be.mutable_servers(2)->set_backup(true);
  be.mutable_servers(3)->set_backup(true);
  auto lb = make_balancer(be);
  auto servers = views_of(be);

  auto counts = picks(*lb, servers, 100);
  EXPECT_EQ(counts[2] + counts[3], 0);

  servers[1].usable = false;
  counts = picks(*lb, servers, 100);
  EXPECT_EQ(counts[0], 100);

  servers[0].weight = 0;
  counts = picks(*lb, servers, 100);
  EXPECT_EQ(counts[2], 100) << "only the first usable backup";

  servers[2].usable = false;
  counts = picks(*lb, servers, 100);
  EXPECT_EQ(counts[3], 100);
}

TEST_P(Rules, AllBackupsSharesTheLoadAmongUsableBackups) {
  auto be = backend({1, 1, 1, 1, 1});
  for (int i : {1, 2, 3}) be.mutable_servers(i)->set_backup(true);
  be.mutable_options()->set_allbackups(true);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].usable = false;
  servers[2].usable = false;

  const auto counts = picks(*lb, servers, 300);
  EXPECT_EQ(counts[4], 300) << "active s4 is usable: no backup";

  servers[4].usable = false;
  const auto backups = picks(*lb, servers, 300);
  EXPECT_EQ(backups[1] + backups[3], 300);
  EXPECT_EQ(backups[2], 0);
  if (GetParam().spreads) {
    EXPECT_GT(backups[1], 50);
    EXPECT_GT(backups[3], 50);
  } else {
    EXPECT_EQ(backups[1], 300);
  }
}

TEST_P(Rules, ServerAtMaxconnIsSkippedWhileAnotherIsFree) {
  auto be = backend({1, 1, 1});
  be.mutable_servers(0)->set_maxconn(2);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  servers[0].active = 2;
  const auto counts = picks(*lb, servers, 150);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1] + counts[2], 150);

  for (auto& s : servers) s.active = 1;
  const auto again = picks(*lb, servers, 150);
  EXPECT_GT(again[0], 0) << "below maxconn it is a candidate again";
  if (!GetParam().spreads) {
    EXPECT_EQ(again[0], 150);
  }
}

TEST_P(Rules, EveryCandidateFullMeansFullEvenWithAnIdleBackup) {
  auto be = backend({1, 1, 1});
  be.mutable_servers(2)->set_backup(true);
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  for (size_t i : {0, 1}) {
    servers[i].maxconn = 3;
    servers[i].active = 3;
  }
  pick_request req;
  const std::string key = "k";
  if (GetParam().keyed) req.key = key;
  pick_result r = lb->pick(servers, req);
  EXPECT_FALSE(r.server);
  EXPECT_TRUE(r.full);

  servers[1].active = 2;
  r = lb->pick(servers, req);
  ASSERT_TRUE(r.server);
  EXPECT_EQ(*r.server, 1u);
  EXPECT_FALSE(r.full);
}

TEST_P(Rules, ExcludedServerIsAvoidedWhileAnotherRemains) {
  auto be = backend({1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  auto counts = picks(*lb, servers, 150, 0);
  EXPECT_EQ(counts[0], 0);
  EXPECT_EQ(counts[1] + counts[2], 150);

  servers[1].usable = false;
  servers[2].usable = false;
  counts = picks(*lb, servers, 10, 0);
  EXPECT_EQ(counts[0], 10) << "the only candidate is returned even when excluded";
}

TEST_P(Rules, ExcludedButFreeBeatsQueueingBehindFullServers) {
  auto be = backend({1, 1, 1});
  auto lb = make_balancer(be);
  auto servers = views_of(be);
  for (size_t i : {1, 2}) {
    servers[i].maxconn = 1;
    servers[i].active = 1;
  }
  const auto counts = picks(*lb, servers, 10, 0);
  EXPECT_EQ(counts[0], 10);
}

INSTANTIATE_TEST_SUITE_P(
    EveryAlgorithm, Rules,
    ::testing::Values(algo{"roundrobin", config::BALANCE_ROUNDROBIN},
                      algo{"static_rr", config::BALANCE_STATIC_RR},
                      algo{"leastconn", config::BALANCE_LEASTCONN},
                      algo{"first", config::BALANCE_FIRST, false, false, false},
                      algo{"source_map", config::BALANCE_SOURCE, false, true},
                      algo{"uri_consistent", config::BALANCE_URI, true, true},
                      algo{"hdr_without_key", config::BALANCE_HDR, false, false},
                      algo{"random", config::BALANCE_RANDOM}),
    [](const ::testing::TestParamInfo<algo>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace sluice::worker::balance
