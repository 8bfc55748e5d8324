#include "stats/counters.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <thread>
#include <type_traits>

namespace sluice::stats {

const char* name(object_kind k) {
  switch (k) {
    case object_kind::process: return "process";
    case object_kind::frontend: return "frontend";
    case object_kind::backend: return "backend";
    case object_kind::server: return "server";
  }
  return "?";
}

std::string frontend_key(std::string_view frontend) {
  return "frontend/" + std::string(frontend);
}

std::string backend_key(std::string_view backend) {
  return "backend/" + std::string(backend);
}

std::string server_key(std::string_view backend, std::string_view server) {
  std::string key = "server/";
  key.append(backend);
  key += '/';
  key.append(server);
  return key;
}

namespace histogram {

size_t bucket_of(uint64_t us) {
  auto it = std::lower_bound(bucket_bounds_us.begin(), bucket_bounds_us.end(), us);
  return static_cast<size_t>(it - bucket_bounds_us.begin());
}

void observe(block_histogram& h, std::chrono::microseconds elapsed) {
  // A clock step can make a measured interval negative; it counts as no time at all.
  uint64_t us = elapsed.count() > 0 ? static_cast<uint64_t>(elapsed.count()) : 0;
  add(h.buckets[bucket_of(us)]);
  add(h.sum_us, us);
}

}  // namespace histogram

uint64_t histogram_values::count() const {
  uint64_t n = 0;
  for (uint64_t b : buckets) n += b;
  return n;
}

namespace {

// Every field of a block, paired with the same field of another block or snapshot, so
// fold() and read() cannot forget one.
template <class A, class B, class F>
void zip_histogram(A& a, B& b, F& f) {
  for (size_t i = 0; i < histogram_buckets; ++i) f(a.buckets[i], b.buckets[i]);
  f(a.sum_us, b.sum_us);
}

template <class A, class B, class F>
void zip_fields(A& a, B& b, F&& f) {
  f(a.sessions, b.sessions);
  f(a.sessions_ended, b.sessions_ended);
  f(a.bytes_in, b.bytes_in);
  f(a.bytes_out, b.bytes_out);
  f(a.http_requests, b.http_requests);
  for (size_t i = 0; i < response_classes; ++i) f(a.http_responses[i], b.http_responses[i]);
  f(a.request_errors, b.request_errors);
  f(a.requests_denied, b.requests_denied);
  f(a.connection_attempts, b.connection_attempts);
  f(a.connection_errors, b.connection_errors);
  f(a.connection_reuses, b.connection_reuses);
  f(a.response_errors, b.response_errors);
  f(a.retries, b.retries);
  f(a.redispatches, b.redispatches);
  f(a.queue_entered, b.queue_entered);
  f(a.queue_left, b.queue_left);
  f(a.check_failures, b.check_failures);
  f(a.check_up_down, b.check_up_down);
  f(a.downtime_ms, b.downtime_ms);
  f(a.tls_handshakes, b.tls_handshakes);
  f(a.tls_resumptions, b.tls_resumptions);
  f(a.tls_handshake_failures, b.tls_handshake_failures);
  zip_histogram(a.queue_time, b.queue_time, f);
  zip_histogram(a.connect_time, b.connect_time, f);
  zip_histogram(a.response_time, b.response_time, f);
  zip_histogram(a.total_time, b.total_time, f);
}

// A field added to the block moves the end of its last member: then it needs its place in
// zip_fields() and this count.
constexpr size_t block_fields = 27 + 4 * (histogram_buckets + 1);
static_assert(std::is_standard_layout_v<counter_block>);
static_assert(offsetof(counter_block, total_time) + sizeof(block_histogram) ==
              block_fields * sizeof(uint64_t));

// A scrape waits this many rounds for a fold in progress before it gives up and takes what
// it read: a master killed in the middle of a fold must not hang the exporter.
constexpr int max_read_attempts = 100000;

size_t entries_offset() {
  return sizeof(counters_header);
}

counter_block* blocks_after(object_entry* entries, uint32_t objects) {
  auto* end = reinterpret_cast<char*>(entries + objects);
  size_t misalignment = reinterpret_cast<uintptr_t>(end) % alignof(counter_block);
  size_t pad = misalignment == 0 ? 0 : alignof(counter_block) - misalignment;
  return reinterpret_cast<counter_block*>(end + pad);
}

object_entry* entries_of(void* memory) {
  return reinterpret_cast<object_entry*>(static_cast<char*>(memory) + entries_offset());
}

bool aligned(const void* memory) {
  return reinterpret_cast<uintptr_t>(memory) % alignof(counters_header) == 0;
}

}  // namespace

size_t counter_table::bytes_for(uint32_t objects, uint32_t slots) {
  return sizeof(counters_header) + sizeof(object_entry) * objects + alignof(counter_block) +
         sizeof(counter_block) * (size_t{slots} + 1) * objects;
}

counter_table counter_table::format(void* memory, uint32_t objects, uint32_t slots) {
  if (memory == nullptr || !aligned(memory)) return {};
  auto* h = new (memory) counters_header{counters_magic,
                                         counters_version,
                                         static_cast<uint32_t>(sizeof(counter_block)),
                                         objects,
                                         slots,
                                         {0},
                                         {0},
                                         {}};
  object_entry* entries = entries_of(memory);
  for (uint32_t i = 0; i < objects; ++i) new (&entries[i]) object_entry();
  // Blocks are constructed when their object is added: the segment is mostly empty room
  // for later reloads, and untouched pages of a memfd cost nothing.
  return counter_table(h, entries, blocks_after(entries, objects));
}

counter_table counter_table::attach(void* memory, size_t size) {
  if (memory == nullptr || !aligned(memory) || size < sizeof(counters_header)) return {};
  auto* h = static_cast<counters_header*>(memory);
  if (h->magic != counters_magic || h->version != counters_version ||
      h->block_size != sizeof(counter_block)) {
    return {};
  }
  if (bytes_for(h->object_capacity, h->slot_capacity) > size) return {};
  object_entry* entries = entries_of(memory);
  return counter_table(h, entries, blocks_after(entries, h->object_capacity));
}

std::optional<uint32_t> counter_table::index_of(std::string_view key) const {
  uint32_t n = used();
  for (uint32_t i = 0; i < n; ++i) {
    if (entries_[i].in_use.load(std::memory_order_acquire) != 0 && key == entries_[i].key) {
      return i;
    }
  }
  return std::nullopt;
}

std::optional<uint32_t> counter_table::find_or_add(std::string_view key, object_kind kind) {
  if (auto i = index_of(key)) {
    if (this->kind(*i) != kind) return std::nullopt;
    return i;
  }
  uint32_t n = used();
  if (n >= object_capacity() || key.empty() || key.size() > max_key) return std::nullopt;
  object_entry& e = entries_[n];
  std::memcpy(e.key, key.data(), key.size());
  e.key[key.size()] = 0;
  e.kind = static_cast<uint32_t>(kind);
  for (uint32_t slot = 0; slot <= slot_capacity(); ++slot) new (&block(n, slot)) counter_block();
  e.in_use.store(1, std::memory_order_release);
  header_->used.store(n + 1, std::memory_order_release);
  return n;
}

void counter_table::fold(uint32_t slot) {
  if (slot >= slot_capacity()) return;
  uint32_t n = used();
  auto& sequence = header_->fold_sequence;
  uint64_t seq = sequence.load(std::memory_order_relaxed);
  sequence.store(seq + 1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  for (uint32_t object = 0; object < n; ++object) {
    // The holder has exited, so whatever it had open (sessions, queued requests) is closed:
    // folding the open ones as ended keeps the gauges from counting them forever.
    counter_block& part = block(object, slot);
    part.sessions_ended.store(part.sessions.load(std::memory_order_relaxed),
                              std::memory_order_relaxed);
    part.queue_left.store(part.queue_entered.load(std::memory_order_relaxed),
                          std::memory_order_relaxed);
    zip_fields(block(object, slot_capacity()), part,
               [](std::atomic<uint64_t>& total, std::atomic<uint64_t>& part) {
                 uint64_t v = part.load(std::memory_order_relaxed);
                 if (v == 0) return;
                 add(total, v);
                 part.store(0, std::memory_order_relaxed);
               });
  }
  sequence.store(seq + 2, std::memory_order_release);
}

counter_values counter_table::read(uint32_t object) const {
  const auto& sequence = header_->fold_sequence;
  for (int attempt = 1;; ++attempt) {
    bool last = attempt >= max_read_attempts;
    uint64_t before = sequence.load(std::memory_order_acquire);
    if ((before & 1) != 0 && !last) {
      std::this_thread::yield();
      continue;
    }
    counter_values v;
    for (uint32_t slot = 0; slot <= slot_capacity(); ++slot) {
      zip_fields(v, block(object, slot), [](uint64_t& sum, const std::atomic<uint64_t>& part) {
        sum += part.load(std::memory_order_relaxed);
      });
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    if (last || sequence.load(std::memory_order_relaxed) == before) return v;
    std::this_thread::yield();
  }
}

process_info counter_table::read_process() const {
  const process_state& p = header_->process;
  process_info i;
  i.start_time_ms = p.start_time_ms.load(std::memory_order_relaxed);
  i.generation = p.generation.load(std::memory_order_relaxed);
  i.workers = p.workers.load(std::memory_order_relaxed);
  i.reloads = p.reloads.load(std::memory_order_relaxed);
  i.reload_failures = p.reload_failures.load(std::memory_order_relaxed);
  i.worker_restarts = p.worker_restarts.load(std::memory_order_relaxed);
  return i;
}

slot_pool::slot_pool(uint32_t capacity) : held_(capacity, false) {}

std::optional<uint32_t> slot_pool::acquire() {
  auto it = std::find(held_.begin(), held_.end(), false);
  if (it == held_.end()) return std::nullopt;
  *it = true;
  return static_cast<uint32_t>(it - held_.begin());
}

void slot_pool::release(uint32_t slot) {
  if (slot < held_.size()) held_[slot] = false;
}

uint32_t slot_pool::available() const {
  return static_cast<uint32_t>(std::count(held_.begin(), held_.end(), false));
}

}  // namespace sluice::stats
