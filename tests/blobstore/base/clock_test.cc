#include "blobstore/base/clock.h"

#include <gtest/gtest.h>

namespace shadowfs::base {
namespace {

TEST(FakeClockTest, MovesOnlyWhenTold) {
  FakeClock clock;
  WallTime t0 = clock.Now();
  MonoTime m0 = clock.Monotonic();
  EXPECT_EQ(clock.Now(), t0);
  clock.SleepFor(std::chrono::seconds(3));
  EXPECT_EQ(clock.Now() - t0, std::chrono::seconds(3));
  EXPECT_EQ(clock.Monotonic() - m0, std::chrono::seconds(3));
  EXPECT_EQ(clock.slept(), std::chrono::seconds(3));
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(clock.slept(), std::chrono::seconds(3));
  EXPECT_EQ(ToUnixSeconds(FromUnixSeconds(1234)), 1234);
}

}  // namespace
}  // namespace shadowfs::base
