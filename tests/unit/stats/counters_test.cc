#include "stats/counters.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "health/shm_segment.h"

namespace sluice::stats {
namespace {

using std::chrono::microseconds;

// Raw memory for a table, aligned as the header needs (a mapping is page-aligned).
struct memory {
  explicit memory(size_t n) : words((n + 7) / 8 + 8) {}
  void* data() { return words.data(); }
  size_t size() const { return words.size() * 8; }
  std::vector<uint64_t> words;
};

TEST(CounterTable, ObjectsAreKeyedByNameAndKind) {
  memory mem(counter_table::bytes_for(4, 2));
  counter_table t = counter_table::format(mem.data(), 4, 2);
  ASSERT_TRUE(t.valid());
  EXPECT_EQ(t.object_capacity(), 4u);
  EXPECT_EQ(t.slot_capacity(), 2u);
  auto fe = t.find_or_add(frontend_key("fe"), object_kind::frontend);
  auto be = t.find_or_add(backend_key("fe"), object_kind::backend);
  ASSERT_TRUE(fe && be);
  EXPECT_NE(*fe, *be);  // a `listen` section is a frontend and a backend of the same name
  EXPECT_EQ(t.find_or_add("frontend/fe", object_kind::frontend), fe);
  EXPECT_EQ(t.index_of("backend/fe"), be);
  EXPECT_EQ(t.index_of("backend/other"), std::nullopt);
  EXPECT_EQ(t.key(*be), "backend/fe");
  EXPECT_EQ(t.kind(*be), object_kind::backend);
  EXPECT_EQ(t.used(), 2u);
  // The same key with another kind is a caller's bug, not a new object.
  EXPECT_EQ(t.find_or_add("frontend/fe", object_kind::server), std::nullopt);
  EXPECT_EQ(server_key("web", "a"), "server/web/a");
}

TEST(CounterTable, FullTableLongAndEmptyKeysAreRefused) {
  memory mem(counter_table::bytes_for(2, 1));
  counter_table t = counter_table::format(mem.data(), 2, 1);
  EXPECT_EQ(t.find_or_add("", object_kind::frontend), std::nullopt);
  EXPECT_EQ(t.find_or_add(std::string(max_key + 1, 'x'), object_kind::frontend), std::nullopt);
  EXPECT_TRUE(t.find_or_add(std::string(max_key, 'x'), object_kind::frontend));
  EXPECT_TRUE(t.find_or_add("process", object_kind::process));
  EXPECT_EQ(t.find_or_add("frontend/late", object_kind::frontend), std::nullopt);
  EXPECT_EQ(t.used(), 2u);
}

TEST(CounterTable, AttachChecksMagicVersionAndSize) {
  memory mem(counter_table::bytes_for(3, 2));
  counter_table t = counter_table::format(mem.data(), 3, 2);
  auto i = t.find_or_add("frontend/fe", object_kind::frontend);
  add(t.block(*i, 1).sessions, 5);
  counter_table seen = counter_table::attach(mem.data(), mem.size());
  ASSERT_TRUE(seen.valid());
  EXPECT_EQ(seen.index_of("frontend/fe"), i);
  EXPECT_EQ(seen.read(*i).sessions, 5u);
  EXPECT_FALSE(counter_table::attach(mem.data(), sizeof(counters_header)).valid());
  EXPECT_FALSE(counter_table::attach(nullptr, mem.size()).valid());
  EXPECT_FALSE(counter_table::attach(static_cast<char*>(mem.data()) + 1, mem.size() - 1).valid());
  auto* h = static_cast<counters_header*>(mem.data());
  h->version = counters_version + 1;
  EXPECT_FALSE(counter_table::attach(mem.data(), mem.size()).valid());
  h->version = counters_version;
  h->block_size += 64;
  EXPECT_FALSE(counter_table::attach(mem.data(), mem.size()).valid());
  h->block_size -= 64;
  h->magic = 0;
  EXPECT_FALSE(counter_table::attach(mem.data(), mem.size()).valid());
}

TEST(CounterTable, ReadSumsEverySlotAndTheAccumulator) {
  memory mem(counter_table::bytes_for(2, 3));
  counter_table t = counter_table::format(mem.data(), 2, 3);
  uint32_t fe = *t.find_or_add("frontend/fe", object_kind::frontend);
  uint32_t other = *t.find_or_add("frontend/other", object_kind::frontend);
  for (uint32_t slot = 0; slot < 3; ++slot) {
    counter_block& b = t.block(fe, slot);
    add(b.sessions, slot + 1);
    add(b.sessions_ended, slot);
    add(b.bytes_in, 100);
    add(b.http_responses[response_class(200)]);
    add(b.http_responses[response_class(503)], 2);
  }
  // Different slots and objects never share a block.
  EXPECT_NE(&t.block(fe, 0), &t.block(fe, 1));
  EXPECT_NE(&t.block(fe, 0), &t.block(other, 0));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&t.block(other, 2)) % 64, 0u);
  counter_values v = t.read(fe);
  EXPECT_EQ(v.sessions, 6u);
  EXPECT_EQ(v.sessions_ended, 3u);
  EXPECT_EQ(v.current_sessions(), 3u);
  EXPECT_EQ(v.bytes_in, 300u);
  EXPECT_EQ(v.http_responses[1], 3u);
  EXPECT_EQ(v.http_responses[4], 6u);
  EXPECT_EQ(t.read(other).sessions, 0u);
}

TEST(CounterTable, ResponseClasses) {
  EXPECT_EQ(response_class(100), 0u);
  EXPECT_EQ(response_class(204), 1u);
  EXPECT_EQ(response_class(399), 2u);
  EXPECT_EQ(response_class(404), 3u);
  EXPECT_EQ(response_class(599), 4u);
  EXPECT_EQ(response_class(600), 5u);
  EXPECT_EQ(response_class(99), 5u);
  EXPECT_EQ(response_class(0), 5u);
  EXPECT_STREQ(response_class_names[response_class(0)], "other");
}

TEST(CounterTable, FoldKeepsTotalsAndZeroesTheSlot) {
  memory mem(counter_table::bytes_for(2, 2));
  counter_table t = counter_table::format(mem.data(), 2, 2);
  uint32_t srv = *t.find_or_add("server/web/a", object_kind::server);
  counter_block& b = t.block(srv, 0);
  add(b.sessions, 10);
  add(b.sessions_ended, 9);
  add(b.queue_entered, 4);
  add(b.queue_left, 3);
  histogram::observe(b.response_time, microseconds(700));
  add(t.block(srv, 1).sessions, 1);
  counter_values before = t.read(srv);

  t.fold(0);
  counter_values after = t.read(srv);
  EXPECT_EQ(after.sessions, before.sessions);
  EXPECT_EQ(before.current_sessions(), 2u);
  EXPECT_EQ(before.current_queue(), 1u);
  // What the exited worker had open died with it; slot 1 still has its session.
  EXPECT_EQ(after.current_sessions(), 1u);
  EXPECT_EQ(after.current_queue(), 0u);
  EXPECT_EQ(after.response_time.count(), 1u);
  EXPECT_EQ(after.response_time.sum_us, 700u);
  EXPECT_EQ(t.block(srv, 0).sessions.load(), 0u);
  EXPECT_EQ(t.block(srv, 0).response_time.buckets[1].load(), 0u);
  EXPECT_EQ(t.accumulator(srv).sessions.load(), 10u);
  EXPECT_EQ(t.block(srv, 1).sessions.load(), 1u);  // other slots untouched

  // The slot goes to a new worker, which starts from zero; totals keep growing.
  add(t.block(srv, 0).sessions, 3);
  EXPECT_EQ(t.read(srv).sessions, 14u);
  t.fold(0);
  t.fold(1);
  t.fold(7);  // out of range: nothing
  EXPECT_EQ(t.read(srv).sessions, 14u);
  EXPECT_EQ(t.accumulator(srv).sessions.load(), 14u);
}

// Every field of a block must survive a fold: writes a distinct value into each counter
// through the block's address range and checks the accumulator got all of them.
TEST(CounterTable, FoldMovesEveryField) {
  memory mem(counter_table::bytes_for(1, 1));
  counter_table t = counter_table::format(mem.data(), 1, 1);
  uint32_t o = *t.find_or_add("backend/be", object_kind::backend);
  constexpr size_t fields = 27 + 4 * (histogram_buckets + 1);
  auto* slot = reinterpret_cast<std::atomic<uint64_t>*>(&t.block(o, 0));
  for (size_t i = 0; i < fields; ++i) slot[i].store(i + 1);
  t.fold(0);
  const auto* acc = reinterpret_cast<const std::atomic<uint64_t>*>(&t.accumulator(o));
  // The ends of sessions and queue entries are set to their starts by the fold.
  const size_t sessions_ended = 1, queue_entered = 19, queue_left = 20;
  for (size_t i = 0; i < fields; ++i) {
    size_t want = i == sessions_ended ? 1 : i == queue_left ? queue_entered + 1 : i + 1;
    EXPECT_EQ(acc[i].load(), want) << "field " << i;
    EXPECT_EQ(slot[i].load(), 0u) << "field " << i;
  }
  counter_values v = t.read(o);
  EXPECT_EQ(v.sessions, 1u);
  EXPECT_EQ(v.downtime_ms, 24u);
  EXPECT_EQ(v.tls_handshake_failures, 27u);
  EXPECT_EQ(v.total_time.sum_us, fields);
}

TEST(Histogram, BucketEdgesAreInclusiveUpperBounds) {
  EXPECT_EQ(histogram::bucket_of(0), 0u);
  EXPECT_EQ(histogram::bucket_of(500), 0u);
  EXPECT_EQ(histogram::bucket_of(501), 1u);
  EXPECT_EQ(histogram::bucket_of(1000), 1u);
  EXPECT_EQ(histogram::bucket_of(1001), 2u);
  EXPECT_EQ(histogram::bucket_of(1000000), 10u);
  EXPECT_EQ(histogram::bucket_of(30000000), 14u);
  EXPECT_EQ(histogram::bucket_of(30000001), 15u);  // +Inf
  EXPECT_EQ(histogram::bucket_of(UINT64_MAX), 15u);
  for (size_t i = 0; i < bucket_bounds_us.size(); ++i) {
    EXPECT_EQ(histogram::bucket_of(bucket_bounds_us[i]), i);
    EXPECT_EQ(histogram::bucket_of(bucket_bounds_us[i] + 1), i + 1);
  }
}

TEST(Histogram, ObserveCountsAndSums) {
  block_histogram h;
  histogram::observe(h, microseconds(250));
  histogram::observe(h, microseconds(2500));
  histogram::observe(h, std::chrono::seconds(45));
  histogram::observe(h, microseconds(-5));  // a clock step: no time
  EXPECT_EQ(h.buckets[0].load(), 2u);
  EXPECT_EQ(h.buckets[2].load(), 1u);
  EXPECT_EQ(h.buckets[15].load(), 1u);
  EXPECT_EQ(h.sum_us.load(), 250u + 2500u + 45000000u);
  histogram_values v;
  for (size_t i = 0; i < histogram_buckets; ++i) v.buckets[i] = h.buckets[i].load();
  EXPECT_EQ(v.count(), 4u);
}

TEST(CounterTable, ProcessStateIsReadBack) {
  memory mem(counter_table::bytes_for(1, 1));
  counter_table t = counter_table::format(mem.data(), 1, 1);
  t.process().generation.store(3);
  t.process().reloads.store(2);
  t.process().reload_failures.store(1);
  t.process().worker_restarts.store(4);
  t.process().workers.store(8);
  t.process().start_time_ms.store(1700000000000);
  process_info p = counter_table::attach(mem.data(), mem.size()).read_process();
  EXPECT_EQ(p.generation, 3u);
  EXPECT_EQ(p.reloads, 2u);
  EXPECT_EQ(p.reload_failures, 1u);
  EXPECT_EQ(p.worker_restarts, 4u);
  EXPECT_EQ(p.workers, 8u);
  EXPECT_EQ(p.start_time_ms, 1700000000000u);
}

TEST(SlotPool, HandsOutEachSlotOnceUntilReleased) {
  EXPECT_EQ(slots_for(4), 10u);
  slot_pool pool(3);
  EXPECT_EQ(pool.acquire(), 0u);
  EXPECT_EQ(pool.acquire(), 1u);
  EXPECT_EQ(pool.acquire(), 2u);
  EXPECT_EQ(pool.acquire(), std::nullopt);
  EXPECT_EQ(pool.available(), 0u);
  pool.release(1);
  pool.release(9);  // not a slot: ignored
  EXPECT_EQ(pool.available(), 1u);
  EXPECT_EQ(pool.acquire(), 1u);
}

// Writers own their slots, the master folds retired ones, a reader scrapes all along: the
// reader never sees a total go down, and sees every count at the end.
TEST(CounterTable, TotalsStayMonotonicWhileSlotsAreFolded) {
  constexpr uint32_t slots = 4;
  constexpr uint64_t per_writer = 20000;
  memory mem(counter_table::bytes_for(1, slots));
  counter_table t = counter_table::format(mem.data(), 1, slots);
  uint32_t o = *t.find_or_add("frontend/fe", object_kind::frontend);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> decreases{0};
  std::thread reader([&] {
    uint64_t last = 0;
    while (!done.load()) {
      uint64_t now = t.read(o).http_requests;
      if (now < last) decreases.fetch_add(1);
      last = now;
    }
  });
  slot_pool pool(slots);
  for (int generation = 0; generation < 6; ++generation) {
    std::vector<std::thread> writers;
    std::vector<uint32_t> held;
    for (int w = 0; w < 2; ++w) {
      uint32_t slot = *pool.acquire();
      held.push_back(slot);
      writers.emplace_back([&t, o, slot] {
        for (uint64_t i = 0; i < per_writer; ++i) add(t.block(o, slot).http_requests);
      });
    }
    for (auto& w : writers) w.join();
    for (uint32_t slot : held) {
      t.fold(slot);
      pool.release(slot);
    }
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(decreases.load(), 0u);
  EXPECT_EQ(t.read(o).http_requests, 6 * 2 * per_writer);
}

// The real arrangement: a child process maps the segment by fd, counts and exits; the
// parent folds its slot once it has reaped it.
TEST(CounterTable, ChildProcessCountsFoldedAfterExit) {
  size_t size = counter_table::bytes_for(8, 2);
  health::shm_segment seg = health::shm_segment::create("sluice-counters-test", size);
  ASSERT_TRUE(seg.ok());
  counter_table t = counter_table::format(seg.memory(), 8, 2);
  uint32_t o = *t.find_or_add("backend/be", object_kind::backend);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    health::shm_segment mine = health::shm_segment::attach(dup(seg.fd()));
    counter_table child = counter_table::attach(mine.memory(), mine.size());
    if (!child.valid()) _exit(2);
    auto i = child.index_of("backend/be");
    if (!i) _exit(3);
    for (int n = 0; n < 7; ++n) add(child.block(*i, 1).connection_attempts);
    histogram::observe(child.block(*i, 1).connect_time, microseconds(1500));
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(t.read(o).connection_attempts, 7u);
  t.fold(1);
  counter_values v = t.read(o);
  EXPECT_EQ(v.connection_attempts, 7u);
  EXPECT_EQ(v.connect_time.buckets[2], 1u);
  EXPECT_EQ(t.block(o, 1).connection_attempts.load(), 0u);
}

}  // namespace
}  // namespace sluice::stats
