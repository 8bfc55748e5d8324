#pragma once
// The key hash functions of HAProxy's `hash-type` (sdbm, djb2, wt6, crc32, none, and the
// avalanche modifier), bit for bit, so a key hashes to the same 32-bit value in both.

#include <cstdint>
#include <string_view>

namespace sluice::worker::balance {

enum class hash_fn { sdbm, djb2, wt6, crc32, none };

struct hash_spec {
  hash_fn fn = hash_fn::sdbm;
  bool avalanche = false;
};

// Backend.hash_function: "sdbm", "djb2", "wt6", "crc32" or "none", optionally followed by
// "+avalanche". "" and unknown names (the config compiler rejects those) are sdbm.
hash_spec parse_hash_spec(std::string_view text);

uint32_t hash_sdbm(std::string_view key);
uint32_t hash_djb2(std::string_view key);
uint32_t hash_wt6(std::string_view key);
uint32_t hash_crc32(std::string_view key);
// "none": the key is already a hash, written as a decimal number.
uint32_t hash_none(std::string_view key);
// Bob Jenkins' 32-bit full avalanche, then HAProxy's multiplication that spreads the
// result over the whole 32-bit space.
uint32_t avalanche(uint32_t h);

uint32_t hash_key(const hash_spec& spec, std::string_view key);

}  // namespace sluice::worker::balance
