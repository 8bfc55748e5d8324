#include "worker/balance/hash_function.h"

#include <gtest/gtest.h>

namespace sluice::worker::balance {
namespace {

TEST(HashFunction, KnownValues) {
  EXPECT_EQ(hash_sdbm(""), 0u);
  EXPECT_EQ(hash_sdbm("a"), 97u);
  EXPECT_EQ(hash_sdbm("ab"), 98u + 97u * 65599u);
  EXPECT_EQ(hash_djb2(""), 5381u);
  EXPECT_EQ(hash_djb2("a"), 5381u * 33u + 97u);
  EXPECT_EQ(hash_crc32("123456789"), 0xcbf43926u);  // the CRC-32 check value
  EXPECT_EQ(hash_wt6(""), 0xa53c965au ^ 0x5ca6953au);
  EXPECT_NE(hash_wt6("a"), hash_wt6("b"));
}

TEST(HashFunction, BytesAreUnsigned) {
  EXPECT_EQ(hash_sdbm("\xff"), 255u);
  EXPECT_EQ(hash_djb2("\x80"), 5381u * 33u + 128u);
}

TEST(HashFunction, NoneReadsTheKeyAsADecimalNumber) {
  EXPECT_EQ(hash_none("12345"), 12345u);
  EXPECT_EQ(hash_none("+7abc"), 7u);
  EXPECT_EQ(hash_none("-1"), 0xffffffffu);
  EXPECT_EQ(hash_none("4294967297"), 1u);
  EXPECT_EQ(hash_none("99999999999999999999"), 0xffffffffu) << "saturates at INT64_MAX";
  EXPECT_EQ(hash_none("abc"), 0u);
}

TEST(HashFunction, AvalancheSpreadsCloseInputs) {
  EXPECT_EQ(avalanche(0), avalanche(0));
  const uint32_t a = avalanche(1);
  const uint32_t b = avalanche(2);
  EXPECT_GE(__builtin_popcount(a ^ b), 8) << "neighbours should differ in many bits";
  EXPECT_NE(avalanche(97), 97u);
}

TEST(HashFunction, ParseSpec) {
  auto s = parse_hash_spec("");
  EXPECT_EQ(s.fn, hash_fn::sdbm);
  EXPECT_FALSE(s.avalanche);
  s = parse_hash_spec("sdbm");
  EXPECT_EQ(s.fn, hash_fn::sdbm);
  EXPECT_FALSE(s.avalanche);
  s = parse_hash_spec("djb2+avalanche");
  EXPECT_EQ(s.fn, hash_fn::djb2);
  EXPECT_TRUE(s.avalanche);
  EXPECT_EQ(parse_hash_spec("wt6").fn, hash_fn::wt6);
  EXPECT_EQ(parse_hash_spec("crc32").fn, hash_fn::crc32);
  EXPECT_EQ(parse_hash_spec("none").fn, hash_fn::none);
  EXPECT_TRUE(parse_hash_spec("none+avalanche").avalanche);
}

TEST(HashFunction, HashKeyAppliesTheModifier) {
  EXPECT_EQ(hash_key({hash_fn::sdbm, false}, "a"), 97u);
  EXPECT_EQ(hash_key({hash_fn::sdbm, true}, "a"), avalanche(97));
  EXPECT_EQ(hash_key({hash_fn::crc32, false}, "123456789"), 0xcbf43926u);
}

}  // namespace
}  // namespace sluice::worker::balance
