#include "health/rise_fall.h"

#include <gtest/gtest.h>

namespace sluice::health {
namespace {

TEST(RiseFall, StartsUpAndFallsAtTheFirstFailure) {
  rise_fall rf(2, 3, rise_fall::initial(2));
  EXPECT_TRUE(rf.up());
  EXPECT_EQ(rf.state(), op_state::up);
  EXPECT_TRUE(rf.record(false));
  EXPECT_FALSE(rf.up());
  EXPECT_EQ(rf.state(), op_state::down);
}

TEST(RiseFall, ConfirmedServerTakesFallFailuresAndRiseSuccesses) {
  rise_fall rf(2, 3, rise_fall::initial(2));
  // From the initial counter (rise), fall-1 successes confirm it (counter at its top).
  EXPECT_FALSE(rf.record(true));
  EXPECT_EQ(rf.state(), op_state::up);
  EXPECT_FALSE(rf.record(true));
  EXPECT_EQ(rf.health(), rf.top());
  EXPECT_FALSE(rf.record(false));
  EXPECT_EQ(rf.state(), op_state::going_down);
  EXPECT_FALSE(rf.record(false));
  EXPECT_TRUE(rf.record(false));  // third failure in a row
  EXPECT_EQ(rf.state(), op_state::down);
  EXPECT_FALSE(rf.record(true));
  EXPECT_EQ(rf.state(), op_state::going_up);
  EXPECT_TRUE(rf.record(true));  // second success: rise 2
  EXPECT_EQ(rf.state(), op_state::up);
  EXPECT_EQ(rf.health(), 4u);
}

TEST(RiseFall, FailureWhileComingBackStartsOver) {
  rise_fall rf(3, 2, 0);
  rf.record(true);
  rf.record(true);
  EXPECT_EQ(rf.state(), op_state::going_up);
  rf.record(false);
  EXPECT_EQ(rf.health(), 1u);
  EXPECT_FALSE(rf.record(true));
  EXPECT_TRUE(rf.record(true));
  EXPECT_TRUE(rf.up());
}

TEST(RiseFall, CounterIsClampedToItsRange) {
  rise_fall rf(2, 2, 99);
  EXPECT_EQ(rf.health(), 3u);
  for (int i = 0; i < 10; ++i) rf.record(true);
  EXPECT_EQ(rf.health(), 3u);
  for (int i = 0; i < 10; ++i) rf.record(false);
  EXPECT_EQ(rf.health(), 0u);
}

TEST(RiseFall, SuddenDeathLeavesOneFailureToGo) {
  rise_fall rf(2, 3, 4);  // confirmed up: three failures needed
  EXPECT_FALSE(rf.pre_fatal());
  EXPECT_TRUE(rf.up());
  EXPECT_TRUE(rf.record(false));
  EXPECT_FALSE(rf.up());
}

TEST(RiseFall, MarkDownIsImmediateAndNeedsRiseToComeBack) {
  rise_fall rf(2, 3, 4);
  EXPECT_TRUE(rf.force_down());
  EXPECT_EQ(rf.state(), op_state::down);
  EXPECT_FALSE(rf.force_down());
  EXPECT_FALSE(rf.record(true));
  EXPECT_TRUE(rf.record(true));
}

}  // namespace
}  // namespace sluice::health
