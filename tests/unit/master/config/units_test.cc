#include "master/config/units.h"

#include <gtest/gtest.h>

namespace sluice::master::config {
namespace {

TEST(Units, TimesTakeHaproxyUnitsAndDefaultToMilliseconds) {
  EXPECT_EQ(parse_time_ms("500").value, 500u);
  EXPECT_EQ(parse_time_ms("500ms").value, 500u);
  EXPECT_EQ(parse_time_ms("5s").value, 5000u);
  EXPECT_EQ(parse_time_ms("2m").value, 120000u);
  EXPECT_EQ(parse_time_ms("1h").value, 3600000u);
  EXPECT_EQ(parse_time_ms("1d").value, 86400000u);
  EXPECT_EQ(parse_time_ms("1500us").value, 2u);  // rounded up
  EXPECT_EQ(parse_time_ms("0").value, 0u);
}

TEST(Units, BadTimesSayWhy) {
  EXPECT_NE(parse_time_ms("5x").error.find("unknown time unit 'x'"), std::string::npos);
  EXPECT_NE(parse_time_ms("s").error.find("is not a time"), std::string::npos);
  EXPECT_NE(parse_time_ms("-5s").error.find("is not a time"), std::string::npos);
  EXPECT_NE(parse_time_ms("25d").error.find("too large"), std::string::npos);
  EXPECT_FALSE(parse_time_ms("99999999999999999999999"));
}

TEST(Units, Sizes) {
  EXPECT_EQ(parse_size("16384").value, 16384u);
  EXPECT_EQ(parse_size("16k").value, 16384u);
  EXPECT_EQ(parse_size("1m").value, 1048576u);
  EXPECT_EQ(parse_size("1G").value, 1073741824u);
  EXPECT_NE(parse_size("1t").error.find("unknown size unit 't'"), std::string::npos);
  EXPECT_FALSE(parse_size("8g"));
}

TEST(Units, BoundedIntegers) {
  EXPECT_EQ(parse_int("42", 0, 100).value, 42);
  EXPECT_EQ(parse_int("-3", -5, 5).value, -3);
  EXPECT_NE(parse_int("101", 0, 100).error.find("out of range (0..100)"), std::string::npos);
  EXPECT_FALSE(parse_int("4x", 0, 100));
  EXPECT_FALSE(parse_int("", 0, 100));
}

TEST(Units, ListsSplitAtCommasKeepingEmptyItems) {
  using V = std::vector<std::string_view>;
  EXPECT_EQ(split_list("h2,http/1.1"), (V{"h2", "http/1.1"}));
  EXPECT_EQ(split_list(":80"), (V{":80"}));
  EXPECT_EQ(split_list("a,,b,"), (V{"a", "", "b", ""}));
  EXPECT_EQ(split_list(""), (V{""}));
}

}  // namespace
}  // namespace sluice::master::config
