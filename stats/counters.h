#pragma once
// The shared counter table: traffic counters and latency histograms for every frontend,
// backend and server, in a shared-memory segment the master creates before the first child
// starts. stats/ owns the layout; workers write, the stats process reads, the master folds.
//
// Layout (one versioned block of raw memory):
//   counters_header | object_entry[object capacity] | counter_block[slot capacity + 1][objects]
// An object ("frontend/NAME", "backend/NAME", "server/BACKEND/SERVER", "process") has one
// counter_block per writer slot plus one accumulator block (row `slot capacity`). Blocks
// are stored slot-major so the blocks one writer touches are contiguous and two writers
// never share a cache line.
//
// Slots. A slot is a writer identity, not a process: the master hands one from its
// slot_pool to every child that counts (each worker, and the health process, which writes
// the check counters of servers). Exactly one live process writes a slot's blocks, so
// writers use plain relaxed load + store instead of locked read-modify-write. When the
// child that held a slot has exited (reaped, so nobody writes the slot any more), the
// master calls fold(slot), which adds the slot's blocks into the accumulators and zeroes
// them (counting what the child still had open as ended), and only then returns the slot
// to the pool. Totals (accumulator + every slot) thus never go backwards across reloads,
// crashes and restarts.
//
// Capacity: a generation needs one slot per worker plus one for its health process; during
// a reload the draining generation and the new one overlap, hence slots_for(workers) =
// 2 * workers + 2. The worker count can change on reload while the segment cannot grow, so
// the master sizes the pool for 64 workers per generation (or the configured count if
// larger). Should the pool still run dry (several generations draining at once), the child
// starts uncounted and the master logs it: traffic is never held back for a metric.
//
// Readers (the stats process) may run while the master folds. A fold is bracketed by a
// sequence number (odd while folding); read() retries until it saw no fold, so a scrape
// sees a slot either before its fold or after it, never both or neither.

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::stats {

// Bump on every layout change: a child refuses a segment of another version.
inline constexpr uint32_t counters_version = 2;
inline constexpr uint64_t counters_magic = 0x534c5549434543ULL;  // "SLUICEC"
inline constexpr size_t max_key = 255;

enum class object_kind : uint32_t { process = 0, frontend = 1, backend = 2, server = 3 };

const char* name(object_kind k);

// Keys of the objects, shared by the writers and the exporter.
inline constexpr std::string_view process_key = "process";
std::string frontend_key(std::string_view frontend);
std::string backend_key(std::string_view backend);
std::string server_key(std::string_view backend, std::string_view server);

// HTTP response classes, as HAProxy's `code` label: 1xx .. 5xx and other.
inline constexpr size_t response_classes = 6;
inline constexpr std::array<const char*, response_classes> response_class_names = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "other"};
// The index into http_responses of a status code.
inline constexpr size_t response_class(uint32_t status) {
  return status >= 100 && status < 600 ? status / 100 - 1 : response_classes - 1;
}

// Latency buckets suited to a proxy: 0.5 ms .. 30 s, then +Inf. Each bucket counts the
// observations at most its bound and above the previous one (Prometheus' `le` boundaries);
// cumulative counts are computed by the reader.
inline constexpr size_t histogram_buckets = 16;
inline constexpr std::array<uint64_t, histogram_buckets - 1> bucket_bounds_us = {
    500,    1000,   2500,    5000,    10000,   25000,    50000,   100000,
    250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};

// No separate observation count is stored: it is the sum of the buckets, which saves a
// write per observation and keeps `_count` equal to the +Inf bucket even if a writer dies
// between two stores.
struct block_histogram {
  std::array<std::atomic<uint64_t>, histogram_buckets> buckets{};
  std::atomic<uint64_t> sum_us{0};
};

// The counters one writer keeps for one object. Every field only grows. Which fields an
// object uses depends on its kind (docs/metrics.md maps them to metrics):
//  - process: sessions/sessions_ended count accepted connections, http_requests requests;
//  - frontend: sessions .. requests_denied, tls_*;
//  - backend, server: sessions .. bytes_out, http_requests, http_responses, connection_*,
//    response_errors, retries, redispatches, queue_*, the four histograms;
//  - server, written by the health process: check_failures, check_up_down, downtime_ms.
// Gauges are kept as pairs of counters (current sessions = sessions - sessions_ended,
// current queue = queue_entered - queue_left) so that folding keeps them right.
struct alignas(64) counter_block {
  std::atomic<uint64_t> sessions{0};
  std::atomic<uint64_t> sessions_ended{0};
  std::atomic<uint64_t> bytes_in{0};   // from downstream (frontend) or from upstream
  std::atomic<uint64_t> bytes_out{0};  // to downstream (frontend) or to upstream
  std::atomic<uint64_t> http_requests{0};
  std::array<std::atomic<uint64_t>, response_classes> http_responses{};
  std::atomic<uint64_t> request_errors{0};
  std::atomic<uint64_t> requests_denied{0};
  std::atomic<uint64_t> connection_attempts{0};
  std::atomic<uint64_t> connection_errors{0};
  std::atomic<uint64_t> connection_reuses{0};
  std::atomic<uint64_t> response_errors{0};
  std::atomic<uint64_t> retries{0};
  std::atomic<uint64_t> redispatches{0};
  std::atomic<uint64_t> queue_entered{0};
  std::atomic<uint64_t> queue_left{0};
  std::atomic<uint64_t> check_failures{0};   // failed checks while the server was up
  std::atomic<uint64_t> check_up_down{0};    // transitions from up to down
  std::atomic<uint64_t> downtime_ms{0};      // advanced at each check while down
  std::atomic<uint64_t> tls_handshakes{0};   // frontend: completed TLS handshakes
  std::atomic<uint64_t> tls_resumptions{0};  // of which resumed a session
  std::atomic<uint64_t> tls_handshake_failures{0};
  block_histogram queue_time;
  block_histogram connect_time;
  block_histogram response_time;
  block_histogram total_time;
};

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// The single writer of a counter adds with a relaxed load and store: no locked instruction
// and no syscall on the data path, and no other process writes the block meanwhile.
inline void add(std::atomic<uint64_t>& counter, uint64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

namespace histogram {

// The bucket an observation of `us` microseconds falls in.
size_t bucket_of(uint64_t us);
void observe(block_histogram& h, std::chrono::microseconds elapsed);

}  // namespace histogram

// Plain copies, for readers.
struct histogram_values {
  std::array<uint64_t, histogram_buckets> buckets{};
  uint64_t sum_us = 0;
  uint64_t count() const;
};

struct counter_values {
  uint64_t sessions = 0;
  uint64_t sessions_ended = 0;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t http_requests = 0;
  std::array<uint64_t, response_classes> http_responses{};
  uint64_t request_errors = 0;
  uint64_t requests_denied = 0;
  uint64_t connection_attempts = 0;
  uint64_t connection_errors = 0;
  uint64_t connection_reuses = 0;
  uint64_t response_errors = 0;
  uint64_t retries = 0;
  uint64_t redispatches = 0;
  uint64_t queue_entered = 0;
  uint64_t queue_left = 0;
  uint64_t check_failures = 0;
  uint64_t check_up_down = 0;
  uint64_t downtime_ms = 0;
  uint64_t tls_handshakes = 0;
  uint64_t tls_resumptions = 0;
  uint64_t tls_handshake_failures = 0;
  histogram_values queue_time;
  histogram_values connect_time;
  histogram_values response_time;
  histogram_values total_time;

  // Gauges from their counter pairs; never negative even if a reader sees an end before
  // its start.
  uint64_t current_sessions() const {
    return sessions > sessions_ended ? sessions - sessions_ended : 0;
  }
  uint64_t current_queue() const {
    return queue_entered > queue_left ? queue_entered - queue_left : 0;
  }
};

// What the master knows about the process as a whole, written by the master only, so the
// stats process sees reloads and restarts without asking.
struct process_state {
  std::atomic<uint64_t> start_time_ms{0};  // wall clock, ms since the epoch
  std::atomic<uint64_t> generation{0};     // of the serving generation
  std::atomic<uint64_t> workers{0};        // of the serving generation
  std::atomic<uint64_t> reloads{0};        // successful reloads
  std::atomic<uint64_t> reload_failures{0};
  std::atomic<uint64_t> worker_restarts{0};  // workers replaced after an unexpected exit
};

struct process_info {
  uint64_t start_time_ms = 0;
  uint64_t generation = 0;
  uint64_t workers = 0;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  uint64_t worker_restarts = 0;
};

struct object_entry {
  std::atomic<uint32_t> in_use{0};  // 1 once the entry has a key and constructed blocks
  uint32_t kind = 0;
  char key[max_key + 1] = {};
};

struct counters_header {
  uint64_t magic;
  uint32_t version;
  uint32_t block_size;  // sizeof(counter_block) of the writer, as a second layout check
  uint32_t object_capacity;
  uint32_t slot_capacity;
  std::atomic<uint32_t> used;
  std::atomic<uint64_t> fold_sequence;  // odd while the master folds
  process_state process;
};

// Slots for `workers` workers per generation: see the capacity note above.
inline constexpr uint32_t slots_for(uint32_t workers) {
  return 2 * workers + 2;
}

// A view of a mapped counter table. Creating and mapping the memory is the caller's.
class counter_table {
 public:
  counter_table() = default;

  static size_t bytes_for(uint32_t objects, uint32_t slots);
  // Formats fresh memory (aligned to 8 bytes at least) as an empty table.
  static counter_table format(void* memory, uint32_t objects, uint32_t slots);
  // Checks magic, version and size of mapped memory; an empty view on mismatch.
  static counter_table attach(void* memory, size_t size);

  bool valid() const { return header_ != nullptr; }
  uint32_t object_capacity() const { return header_->object_capacity; }
  uint32_t slot_capacity() const { return header_->slot_capacity; }
  uint32_t used() const { return header_->used.load(std::memory_order_acquire); }

  // Master only: the index of `key`, adding it (with zeroed blocks) if it is new.
  // nullopt when the table is full, the key too long, or known with another kind.
  std::optional<uint32_t> find_or_add(std::string_view key, object_kind kind);
  // O(used): for a process resolving its objects once, not per request.
  std::optional<uint32_t> index_of(std::string_view key) const;
  std::string_view key(uint32_t object) const { return entries_[object].key; }
  object_kind kind(uint32_t object) const {
    return static_cast<object_kind>(entries_[object].kind);
  }

  // What the writer holding `slot` updates for `object`.
  counter_block& block(uint32_t object, uint32_t slot) const {
    return blocks_[size_t{slot} * object_capacity() + object];
  }
  const counter_block& accumulator(uint32_t object) const { return block(object, slot_capacity()); }

  // Master only, once the process that held `slot` has exited: moves the slot's counts
  // into the accumulators and zeroes its blocks, so the slot can be handed out again. The
  // sessions and queue entries the process left open count as ended.
  void fold(uint32_t slot);

  // Accumulator + every slot: what the exporter publishes. Never decreases between two
  // reads, folds included.
  counter_values read(uint32_t object) const;

  process_state& process() const { return header_->process; }
  process_info read_process() const;

 private:
  counter_table(counters_header* h, object_entry* e, counter_block* b)
      : header_(h), entries_(e), blocks_(b) {}

  counters_header* header_ = nullptr;
  object_entry* entries_ = nullptr;
  counter_block* blocks_ = nullptr;
};

// The master's record of which slots are free. Process-local: only the master assigns.
class slot_pool {
 public:
  explicit slot_pool(uint32_t capacity);

  // The lowest free slot, or nullopt when every slot is held.
  std::optional<uint32_t> acquire();
  // After counter_table::fold(slot).
  void release(uint32_t slot);
  uint32_t available() const;

 private:
  std::vector<bool> held_;
};

}  // namespace sluice::stats
