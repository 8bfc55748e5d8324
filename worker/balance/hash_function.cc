#include "worker/balance/hash_function.h"

#include <bit>

namespace sluice::worker::balance {

hash_spec parse_hash_spec(std::string_view text) {
  hash_spec spec;
  constexpr std::string_view modifier = "+avalanche";
  if (text.ends_with(modifier)) {
    spec.avalanche = true;
    text.remove_suffix(modifier.size());
  }
  if (text == "djb2") spec.fn = hash_fn::djb2;
  if (text == "wt6") spec.fn = hash_fn::wt6;
  if (text == "crc32") spec.fn = hash_fn::crc32;
  if (text == "none") spec.fn = hash_fn::none;
  return spec;
}

uint32_t hash_sdbm(std::string_view key) {
  uint32_t h = 0;
  for (unsigned char c : key) h = c + (h << 6) + (h << 16) - h;
  return h;
}

uint32_t hash_djb2(std::string_view key) {
  uint32_t h = 5381;
  for (unsigned char c : key) h = (h << 5) + h + c;
  return h;
}

uint32_t hash_wt6(std::string_view key) {
  uint32_t h0 = 0xa53c965a;
  uint32_t h1 = 0x5ca6953a;
  int step0 = 6;
  int step1 = 18;
  for (unsigned char c : key) {
    uint32_t t = c;
    h0 = ~(h0 ^ t);
    h1 = ~(h1 + t);
    // std::rotl also covers a step of 0, where the shift pair of the C original is
    // undefined (x86 happens to compute the same rotation).
    t = std::rotl(h1, step0);
    h1 = std::rotl(h0, step1);
    h0 = t;
    t = ((h0 >> 16) ^ h1) & 0xffff;
    step0 = static_cast<int>(t & 0x1f);
    step1 = static_cast<int>(t >> 11);
  }
  return h0 ^ h1;
}

uint32_t hash_crc32(std::string_view key) {
  uint32_t h = ~uint32_t{0};
  for (unsigned char c : key) {
    h ^= c;
    for (int bit = 0; bit < 8; ++bit) h = (h >> 1) ^ ((h & 1) != 0 ? 0xedb88320 : 0);
  }
  return ~h;
}

uint32_t hash_none(std::string_view key) {
  // HAProxy's read_int64(): optional sign, decimal digits, saturating at the int64 range;
  // the hash is the low 32 bits.
  constexpr uint64_t max = ~uint64_t{0};
  size_t i = 0;
  bool negative = false;
  if (i < key.size() && (key[i] == '-' || key[i] == '+')) negative = key[i++] == '-';
  uint64_t v = 0;
  for (; i < key.size() && key[i] >= '0' && key[i] <= '9'; ++i) {
    const auto d = static_cast<uint64_t>(key[i] - '0');
    v = v > (max - d) / 10 ? max : v * 10 + d;
  }
  constexpr uint64_t int64_min = uint64_t{1} << 63;
  if (negative) v = v > int64_min ? int64_min : ~v + 1;
  if (!negative && v > int64_min - 1) v = int64_min - 1;
  return static_cast<uint32_t>(v);
}

uint32_t avalanche(uint32_t a) {
  a = (a + 0x7ed55d16) + (a << 12);
  a = (a ^ 0xc761c23c) ^ (a >> 19);
  a = (a + 0x165667b1) + (a << 5);
  a = (a + 0xd3a2646c) ^ (a << 9);
  a = (a + 0xfd7046c5) + (a << 3);
  a = (a ^ 0xb55a4f09) ^ (a >> 16);
  return a * 3221225473U;
}

uint32_t hash_key(const hash_spec& spec, std::string_view key) {
  uint32_t h = 0;
  switch (spec.fn) {
    case hash_fn::sdbm: h = hash_sdbm(key); break;
    case hash_fn::djb2: h = hash_djb2(key); break;
    case hash_fn::wt6: h = hash_wt6(key); break;
    case hash_fn::crc32: h = hash_crc32(key); break;
    case hash_fn::none: h = hash_none(key); break;
  }
  return spec.avalanche ? avalanche(h) : h;
}

}  // namespace sluice::worker::balance
