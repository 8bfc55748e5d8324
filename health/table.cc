#include "health/table.h"

#include <cstring>
#include <new>

namespace sluice::health {

const char* name(op_state s) {
  switch (s) {
    case op_state::up: return "UP";
    case op_state::down: return "DOWN";
    case op_state::going_up: return "GOING_UP";
    case op_state::going_down: return "GOING_DOWN";
  }
  return "?";
}

const char* name(admin_state s) {
  switch (s) {
    case admin_state::ready: return "READY";
    case admin_state::drain: return "DRAIN";
    case admin_state::maint: return "MAINT";
  }
  return "?";
}

std::optional<admin_state> parse_admin_state(std::string_view s) {
  if (s == "ready") return admin_state::ready;
  if (s == "drain") return admin_state::drain;
  if (s == "maint") return admin_state::maint;
  return std::nullopt;
}

size_t table::bytes_for(uint32_t capacity) {
  return sizeof(table_header) + alignof(server_slot) + sizeof(server_slot) * capacity;
}

namespace {

server_slot* slots_after(table_header* h) {
  auto p = reinterpret_cast<uintptr_t>(h + 1);
  p = (p + alignof(server_slot) - 1) & ~(uintptr_t{alignof(server_slot)} - 1);
  return reinterpret_cast<server_slot*>(p);
}

}  // namespace

table table::format(void* memory, uint32_t capacity) {
  auto* h = new (memory) table_header{table_magic, table_version, capacity, {0}};
  server_slot* slots = slots_after(h);
  for (uint32_t i = 0; i < capacity; ++i) new (&slots[i]) server_slot();
  return table(h, slots);
}

table table::attach(void* memory, size_t size) {
  if (memory == nullptr || size < sizeof(table_header)) return {};
  auto* h = static_cast<table_header*>(memory);
  if (h->magic != table_magic || h->version != table_version) return {};
  if (bytes_for(h->capacity) > size) return {};
  return table(h, slots_after(h));
}

server_slot* table::find(std::string_view key) const {
  uint32_t n = used();
  for (uint32_t i = 0; i < n; ++i) {
    if (slots_[i].in_use.load(std::memory_order_acquire) != 0 && key == slots_[i].key) {
      return &slots_[i];
    }
  }
  return nullptr;
}

server_slot* table::find_or_add(std::string_view key, uint32_t weight) {
  if (server_slot* s = find(key)) return s;
  uint32_t n = used();
  if (n >= capacity() || key.size() > max_key) return nullptr;
  server_slot& s = slots_[n];
  std::memcpy(s.key, key.data(), key.size());
  s.key[key.size()] = 0;
  s.weight.store(weight, std::memory_order_relaxed);
  s.in_use.store(1, std::memory_order_release);
  header_->used.store(n + 1, std::memory_order_release);
  return &s;
}

}  // namespace sluice::health
