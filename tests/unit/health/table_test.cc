#include "health/table.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "health/shm_segment.h"

namespace sluice::health {
namespace {

TEST(HealthTable, SlotsAreKeyedByNameAndKeepTheirState) {
  std::vector<char> mem(table::bytes_for(4) + 64);
  table t = table::format(mem.data(), 4);
  ASSERT_TRUE(t.valid());
  server_slot* a = t.find_or_add("web/a", 3);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->weight.load(), 3u);
  a->admin.store(static_cast<uint32_t>(admin_state::drain));
  EXPECT_EQ(t.find_or_add("web/a", 1), a);  // same key, same slot, state kept
  EXPECT_EQ(a->admin.load(), static_cast<uint32_t>(admin_state::drain));
  EXPECT_EQ(t.find("web/b"), nullptr);
  EXPECT_NE(t.find_or_add("web/b", 1), a);
  EXPECT_EQ(t.used(), 2u);
}

TEST(HealthTable, FullTableAndLongKeysAreRefused) {
  std::vector<char> mem(table::bytes_for(1) + 64);
  table t = table::format(mem.data(), 1);
  EXPECT_NE(t.find_or_add("a/a", 1), nullptr);
  EXPECT_EQ(t.find_or_add("a/b", 1), nullptr);
  std::vector<char> mem2(table::bytes_for(2) + 64);
  table t2 = table::format(mem2.data(), 2);
  EXPECT_EQ(t2.find_or_add(std::string(max_key + 1, 'x'), 1), nullptr);
  EXPECT_NE(t2.find_or_add(std::string(max_key, 'x'), 1), nullptr);
}

TEST(HealthTable, AttachChecksMagicAndVersion) {
  std::vector<char> mem(table::bytes_for(2) + 64);
  table::format(mem.data(), 2);
  EXPECT_TRUE(table::attach(mem.data(), mem.size()).valid());
  EXPECT_FALSE(table::attach(mem.data(), 8).valid());
  reinterpret_cast<table_header*>(mem.data())->version = table_version + 1;
  EXPECT_FALSE(table::attach(mem.data(), mem.size()).valid());
}

TEST(HealthTable, NewTrafficOnlyToReadyUpServersWithWeight) {
  server_slot s;
  EXPECT_TRUE(accepts_new_traffic(s));
  s.admin.store(static_cast<uint32_t>(admin_state::drain));
  EXPECT_FALSE(accepts_new_traffic(s));
  s.admin.store(static_cast<uint32_t>(admin_state::ready));
  s.op.store(static_cast<uint32_t>(op_state::down));
  EXPECT_FALSE(accepts_new_traffic(s));
  s.op.store(static_cast<uint32_t>(op_state::going_up));  // still down until it rises
  EXPECT_FALSE(accepts_new_traffic(s));
  s.op.store(static_cast<uint32_t>(op_state::going_down));  // still up until it falls
  EXPECT_TRUE(accepts_new_traffic(s));
  s.weight.store(0);
  EXPECT_FALSE(accepts_new_traffic(s));
}

TEST(HealthTable, ChangesAreSeenAcrossProcesses) {
  shm_segment seg = shm_segment::create("sluice-test", table::bytes_for(8));
  ASSERT_TRUE(seg.ok());
  table t = table::format(seg.memory(), 8);
  server_slot* slot = t.find_or_add("bk/s1", 1);
  pid_t pid = fork();
  if (pid == 0) {
    // The child maps the same memfd again, as an exec'ed worker would.
    shm_segment mine = shm_segment::attach(dup(seg.fd()));
    table seen = table::attach(mine.memory(), mine.size());
    server_slot* s = seen.valid() ? seen.find("bk/s1") : nullptr;
    if (s == nullptr) _exit(2);
    s->admin.store(static_cast<uint32_t>(admin_state::maint));
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(slot->admin.load(), static_cast<uint32_t>(admin_state::maint));
}

TEST(HealthTable, PassiveObservationsCountErrorsUntilASuccess) {
  server_slot s;
  observe(s, false);
  observe(s, false);
  EXPECT_EQ(s.observed_errors.load(), 2u);
  observe(s, true);
  EXPECT_EQ(s.observed_errors.load(), 0u);
}

TEST(HealthTable, SlowstartRampsTheWeightFromOne) {
  EXPECT_EQ(slowstart_weight(100, 0, 0), 100u);    // no slowstart
  EXPECT_EQ(slowstart_weight(100, 10000, 0), 1u);  // just came back
  EXPECT_EQ(slowstart_weight(100, 10000, 2500), 25u);
  EXPECT_EQ(slowstart_weight(100, 10000, 10000), 100u);
  EXPECT_EQ(slowstart_weight(3, 10000, 100), 1u);  // never 0 while up
  EXPECT_EQ(slowstart_weight(0, 10000, 100), 0u);  // drained stays drained
}

}  // namespace
}  // namespace sluice::health
