#pragma once
// The shared server table: one slot per backend/server, in a shared-memory segment the
// master creates before the first worker starts and every child maps. health/ owns the
// layout. Writers: the health process (operational state) and the master (admin state,
// weight). Readers: workers, on every server pick, with atomic loads only: no lock on the
// data path. Slots are keyed by "backend/server", so a reload keeps the state of servers
// that keep their name.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::health {

// Bump on every layout change: a child refuses a segment of another version.
inline constexpr uint32_t table_version = 2;
inline constexpr uint64_t table_magic = 0x534c5549434554ULL;  // "SLUICET"
inline constexpr size_t max_key = 127;

enum class op_state : uint32_t { up = 0, down = 1, going_up = 2, going_down = 3 };
enum class admin_state : uint32_t { ready = 0, drain = 1, maint = 2 };

const char* name(op_state s);
const char* name(admin_state s);
std::optional<admin_state> parse_admin_state(std::string_view s);

struct server_slot {
  std::atomic<uint32_t> op{static_cast<uint32_t>(op_state::up)};
  std::atomic<uint32_t> admin{static_cast<uint32_t>(admin_state::ready)};
  std::atomic<uint32_t> weight{1};        // effective weight (admin may change it)
  std::atomic<uint32_t> check_status{0};  // last check result code
  std::atomic<uint32_t> check_duration_ms{0};
  std::atomic<uint32_t> in_use{0};          // 1 once the slot has a key
  std::atomic<uint32_t> health{0};          // the checker's rise/fall counter (see rise_fall.h)
  std::atomic<uint32_t> checked{0};         // 1 once a checker has run for this server
  std::atomic<uint64_t> last_change_ms{0};  // wall clock, ms since the epoch
  std::atomic<uint64_t> transitions{0};
  // Passive checks (`observe`): errors seen in real traffic since the last success, added
  // by every worker, consumed by the health process when it reaches `error-limit`.
  std::atomic<uint32_t> observed_errors{0};
  char key[max_key + 1] = {};  // "backend/server", written before in_use
};

struct table_header {
  uint64_t magic;
  uint32_t version;
  uint32_t capacity;
  std::atomic<uint32_t> used;
};

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

// A view of a mapped table. Creating and mapping live in shm_segment.
class table {
 public:
  table() = default;
  table(table_header* header, server_slot* slots) : header_(header), slots_(slots) {}

  static size_t bytes_for(uint32_t capacity);
  // Formats fresh memory as an empty table.
  static table format(void* memory, uint32_t capacity);
  // Checks magic and version of mapped memory; an empty table on mismatch.
  static table attach(void* memory, size_t size);

  bool valid() const { return header_ != nullptr; }
  uint32_t capacity() const { return header_->capacity; }
  uint32_t used() const { return header_->used.load(std::memory_order_acquire); }

  // The slot of `key`, or nullptr. O(used): called when a process starts, not per request.
  server_slot* find(std::string_view key) const;
  // Master only: the slot of `key`, assigning a fresh one (with `weight`) if it has none.
  // nullptr when the table is full or the key too long.
  server_slot* find_or_add(std::string_view key, uint32_t weight);

  server_slot& at(uint32_t i) const { return slots_[i]; }

 private:
  table_header* header_ = nullptr;
  server_slot* slots_ = nullptr;
};

// Whether new traffic may go to a server in this state.
// A server coming back (GOING_UP: down, last check passed) gets none until it is up.
inline bool accepts_new_traffic(const server_slot& s) {
  const uint32_t op = s.op.load(std::memory_order_relaxed);
  return s.admin.load(std::memory_order_relaxed) == static_cast<uint32_t>(admin_state::ready) &&
         (op == static_cast<uint32_t>(op_state::up) ||
          op == static_cast<uint32_t>(op_state::going_down)) &&
         s.weight.load(std::memory_order_relaxed) > 0;
}

// What a worker reports for `observe`: an error bumps the count, a success resets it.
inline void observe(server_slot& s, bool ok) {
  if (ok) {
    if (s.observed_errors.load(std::memory_order_relaxed) != 0) {
      s.observed_errors.store(0, std::memory_order_relaxed);
    }
  } else {
    s.observed_errors.fetch_add(1, std::memory_order_relaxed);
  }
}

// The weight a server gets while `slowstart` ramps it up after it came back: from 1 to
// its full weight over `slowstart_ms`, so a cold server is not flooded at once.
inline uint32_t slowstart_weight(uint32_t weight, uint64_t slowstart_ms, uint64_t up_for_ms) {
  if (slowstart_ms == 0 || up_for_ms >= slowstart_ms || weight == 0) return weight;
  uint64_t w = static_cast<uint64_t>(weight) * up_for_ms / slowstart_ms;
  return w == 0 ? 1 : static_cast<uint32_t>(w);
}

}  // namespace sluice::health
