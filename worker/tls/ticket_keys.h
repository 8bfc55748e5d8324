#pragma once
// Session ticket keys shared by every worker, so that a client resumes its session on
// whichever worker its next connection lands. The master owns a small shared-memory ring
// of three keys (random, made at start, kept across reloads) and rotates it on a schedule;
// workers read it in OpenSSL's ticket callback. As with HAProxy's tls-ticket-keys files,
// the middle key encrypts and all three decrypt: a rotation retires the oldest key, the
// encrypting key moves to the decrypt-only slot and the newest key starts encrypting.
//
// The ring is a seqlock: the master (the only writer) makes the sequence odd, writes, and
// makes it even; readers copy the keys and retry if the sequence moved. Key words are
// atomics, so a racing read is a retry, never undefined behaviour.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::worker::tls {

// One key, as HAProxy's key files hold them: 16 bytes of name, then the AES key, then the
// HMAC key, 16 bytes each (AES-128, 48 bytes in all) or 32 each (AES-256, 80 bytes).
struct ticket_key {
  std::array<uint8_t, 16> name{};
  std::array<uint8_t, 32> aes{};
  std::array<uint8_t, 32> hmac{};
  uint8_t key_bytes = 32;                              // 16 or 32
  static ticket_key from_raw(const std::string& raw);  // 48 or 80 bytes
};

inline constexpr size_t ring_keys = 3;
inline constexpr size_t encrypting_key = 1;  // in a set of ring_keys, oldest first

using key_set = std::array<ticket_key, ring_keys>;

// The last three of a key file's keys, oldest first.
key_set keys_from_file(const std::vector<std::string>& raw);

class ticket_ring {
 public:
  static constexpr uint64_t magic = 0x534c5549434b5452ULL;  // "SLUICKTR"
  static constexpr uint32_t version = 1;
  static size_t bytes();

  ticket_ring() = default;
  // Master: lays the ring out in `memory` (bytes() long) with three fresh random keys.
  static ticket_ring format(void* memory);
  // Child: the ring in a mapped segment; invalid if it is not one.
  static ticket_ring attach(void* memory, size_t size);
  // A ring of this process alone (a runtime started without a master).
  static ticket_ring private_ring();

  bool valid() const { return shm_ != nullptr; }
  // Master: a new random key; the oldest goes.
  void rotate();
  // The current keys, oldest first; `generation` counts rotations.
  key_set read(uint64_t* generation = nullptr) const;

 private:
  static constexpr size_t words_per_key = 10;  // 80 bytes
  struct layout {
    uint64_t magic;
    uint32_t version;
    uint32_t reserved;
    std::atomic<uint64_t> seq;
    std::atomic<uint64_t> rotations;
    std::array<std::array<std::atomic<uint64_t>, words_per_key>, ring_keys> keys;
  };
  void fill();  // the header and three fresh random keys
  void write_key(size_t slot, const ticket_key& k);
  layout* shm_ = nullptr;
  std::shared_ptr<layout> owned_;  // private_ring()
};

}  // namespace sluice::worker::tls
