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

TEST(ScaledClockTest, CalendarRunsFasterMonotonicDoesNot) {
  FakeClock base;
  WallTime start = base.Now();
  MonoTime m0 = base.Monotonic();
  ScaledClock clock(&base, 3600);  // an hour per second
  EXPECT_EQ(clock.Now(), start);
  base.Advance(std::chrono::seconds(2));
  EXPECT_EQ(clock.Now() - start, std::chrono::hours(2));
  EXPECT_EQ(clock.Monotonic() - m0, std::chrono::seconds(2));
  // Sleeping takes the base clock's (real) time, not simulated time.
  clock.SleepFor(std::chrono::milliseconds(500));
  EXPECT_EQ(base.slept(), std::chrono::milliseconds(500));
  EXPECT_EQ(clock.Now() - start, std::chrono::minutes(150));
}

// Anchored: the calendar reads the simulated anchor at the real anchor, whether the clock is made
// before or after that moment.
TEST(ScaledClockTest, AnAnchoredCalendarReadsTheAnchorAtItsRealTime) {
  FakeClock base;
  const WallTime real = base.Now() + std::chrono::seconds(3);
  const WallTime sim = FromUnixSeconds(1'767'232'800);  // 2026-01-01T02:00:00Z
  ScaledClock early(&base, 1440, real, sim);
  EXPECT_EQ(early.Now(), sim - std::chrono::minutes(72)) << "3 s before: 72 simulated minutes";
  base.Advance(std::chrono::seconds(3));
  EXPECT_EQ(early.Now(), sim);
  base.Advance(std::chrono::seconds(60));
  ScaledClock late(&base, 1440, real, sim);
  EXPECT_EQ(early.Now(), sim + std::chrono::hours(24));
  EXPECT_EQ(late.Now(), sim + std::chrono::hours(24));
}

TEST(ScaledClockTest, ScaleOneFollowsTheBaseClock) {
  FakeClock base;
  base.Advance(std::chrono::seconds(10));
  ScaledClock clock(&base, 1.0);
  base.Advance(std::chrono::milliseconds(1234));
  EXPECT_EQ(clock.Now(), base.Now());
}

}  // namespace
}  // namespace shadowfs::base
