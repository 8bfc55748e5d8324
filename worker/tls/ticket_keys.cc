#include "worker/tls/ticket_keys.h"

#include <openssl/rand.h>

#include <cstring>
#include <new>

namespace sluice::worker::tls {

namespace {

ticket_key random_key() {
  ticket_key k;
  RAND_bytes(k.name.data(), static_cast<int>(k.name.size()));
  RAND_bytes(k.aes.data(), static_cast<int>(k.aes.size()));
  RAND_bytes(k.hmac.data(), static_cast<int>(k.hmac.size()));
  k.key_bytes = 32;
  return k;
}

// A key as 80 bytes: name, AES, HMAC (32 each; a 16-byte key uses the first half).
std::array<uint8_t, 80> pack(const ticket_key& k) {
  std::array<uint8_t, 80> b{};
  std::memcpy(b.data(), k.name.data(), 16);
  std::memcpy(b.data() + 16, k.aes.data(), 32);
  std::memcpy(b.data() + 48, k.hmac.data(), 32);
  return b;
}

}  // namespace

ticket_key ticket_key::from_raw(const std::string& raw) {
  ticket_key k;
  const size_t n = raw.size() == 48 ? 16 : 32;
  k.key_bytes = static_cast<uint8_t>(n);
  std::memcpy(k.name.data(), raw.data(), 16);
  std::memcpy(k.aes.data(), raw.data() + 16, n);
  std::memcpy(k.hmac.data(), raw.data() + 16 + n, n);
  return k;
}

key_set keys_from_file(const std::vector<std::string>& raw) {
  key_set out{};
  const size_t first = raw.size() >= ring_keys ? raw.size() - ring_keys : 0;
  for (size_t i = 0; i < ring_keys && first + i < raw.size(); ++i) {
    out[i] = ticket_key::from_raw(raw[first + i]);
  }
  return out;
}

size_t ticket_ring::bytes() {
  return sizeof(layout);
}

ticket_ring ticket_ring::format(void* memory) {
  ticket_ring r;
  r.shm_ = new (memory) layout{};
  r.fill();
  return r;
}

void ticket_ring::fill() {
  shm_->magic = magic;
  shm_->version = version;
  for (size_t i = 0; i < ring_keys; ++i) write_key(i, random_key());
}

ticket_ring ticket_ring::attach(void* memory, size_t size) {
  ticket_ring r;
  if (memory == nullptr || size < sizeof(layout)) return r;
  auto* l = static_cast<layout*>(memory);
  if (l->magic != magic || l->version != version) return r;
  r.shm_ = l;
  return r;
}

ticket_ring ticket_ring::private_ring() {
  ticket_ring r;
  r.owned_ = std::make_shared<layout>();
  r.shm_ = r.owned_.get();
  r.fill();
  return r;
}

void ticket_ring::write_key(size_t slot, const ticket_key& k) {
  auto bytes = pack(k);
  for (size_t w = 0; w < words_per_key; ++w) {
    uint64_t v;
    std::memcpy(&v, bytes.data() + w * 8, 8);
    shm_->keys[slot][w].store(v, std::memory_order_relaxed);
  }
}

void ticket_ring::rotate() {
  // Read the current keys before the sequence goes odd (read() would wait for it).
  key_set keys = read();
  shm_->seq.fetch_add(1, std::memory_order_acq_rel);  // odd: writing
  std::atomic_thread_fence(std::memory_order_release);
  for (size_t i = 0; i + 1 < ring_keys; ++i) write_key(i, keys[i + 1]);
  write_key(ring_keys - 1, random_key());
  shm_->rotations.fetch_add(1, std::memory_order_relaxed);
  shm_->seq.fetch_add(1, std::memory_order_release);  // even: done
}

key_set ticket_ring::read(uint64_t* generation) const {
  key_set out{};
  for (;;) {
    uint64_t before = shm_->seq.load(std::memory_order_acquire);
    if (before % 2 != 0) continue;
    std::array<std::array<uint8_t, 80>, ring_keys> raw{};
    for (size_t i = 0; i < ring_keys; ++i) {
      for (size_t w = 0; w < words_per_key; ++w) {
        uint64_t v = shm_->keys[i][w].load(std::memory_order_relaxed);
        std::memcpy(raw[i].data() + w * 8, &v, 8);
      }
    }
    uint64_t rotations = shm_->rotations.load(std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_acquire);
    if (shm_->seq.load(std::memory_order_relaxed) != before) continue;
    for (size_t i = 0; i < ring_keys; ++i) {
      std::memcpy(out[i].name.data(), raw[i].data(), 16);
      std::memcpy(out[i].aes.data(), raw[i].data() + 16, 32);
      std::memcpy(out[i].hmac.data(), raw[i].data() + 48, 32);
      out[i].key_bytes = 32;
    }
    if (generation != nullptr) *generation = rotations;
    return out;
  }
}

}  // namespace sluice::worker::tls
