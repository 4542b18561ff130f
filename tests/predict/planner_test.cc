#include "predict/planner.h"

#include <gtest/gtest.h>

namespace shadowfs::predict {
namespace {

using std::chrono::seconds;
constexpr uint64_t kMiB = 1 << 20;
const base::WallTime kT0(seconds(1'700'000'000));

PlannerOptions Options() {
  PlannerOptions o;
  o.target_precision = 0.8;
  o.max_bytes_in_flight = 10 * kMiB;
  o.max_request_bytes = 4 * kMiB;
  return o;
}

// A range asked for ahead of its expected read counts as requested until a horizon after it.
TEST(PlannerTest, ARangeAskedForAheadStaysRequestedUntilAfterItsRead) {
  Planner p(PlannerOptions{});
  ASSERT_TRUE(p.Admit(1, 0, 0, kMiB, 0.9, kT0, {}, 0, kT0 + seconds(3600)));
  p.Expire(kT0 + seconds(3000));
  EXPECT_TRUE(p.Requested(1, 0, 100, kT0 + seconds(3610))) << "read an hour later: prefetched";
  EXPECT_FALSE(p.Admit(1, 0, 0, kMiB, 0.9, kT0 + seconds(1800), {}, 0)) << "not asked twice";
  p.Expire(kT0 + seconds(4201));
  EXPECT_FALSE(p.Requested(1, 0, 100, kT0 + seconds(4201)));
}

TEST(PlannerTest, AdmitsConfidentCandidatesAndResolvesRanges) {
  Planner p(Options());
  EXPECT_DOUBLE_EQ(p.threshold(), 0.8);
  EXPECT_FALSE(p.Admit(1, 0, 0, kMiB, 0.5, kT0, {}, 0)) << "below the threshold";
  auto d = p.Admit(1, 0, 0, kMiB, 0.9, kT0, {}, 0);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->length, kMiB) << "to the end of the object";
  auto big = p.Admit(2, kMiB, 0, 100 * kMiB, 0.9, kT0, {}, 0);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->offset, kMiB);
  EXPECT_EQ(big->length, 4 * kMiB) << "capped at max_request_bytes";
  EXPECT_FALSE(p.Admit(3, 10, 0, 10, 0.99, kT0, {}, 0)) << "past the end";
}

TEST(PlannerTest, NeverRequestsARangeInFlightOrJustPrefetched) {
  Planner p(Options());
  auto d = p.Admit(1, 0, 0, kMiB, 0.9, kT0, {}, 0);
  ASSERT_TRUE(d);
  EXPECT_TRUE(p.Requested(1, 0, 4096, kT0));
  EXPECT_FALSE(p.Admit(1, 0, 0, kMiB, 0.9, kT0, {}, 0)) << "in flight";
  EXPECT_FALSE(p.Admit(1, 0, 0, kMiB, 0.9, kT0 + seconds(100), {}, 0)) << "in flight, slow";
  p.Done(1, *d, /*ok=*/true);
  auto later = p.Admit(2, 0, 0, kMiB, 0.9, kT0 + seconds(100), {}, 0);
  ASSERT_TRUE(later);
  p.Done(2, *later, /*ok=*/true);
  EXPECT_FALSE(p.Admit(2, 0, 0, kMiB, 0.9, kT0 + seconds(120), {}, 0)) << "just prefetched";
  // Later the sink decides: it refuses what the store still holds, and fetches again a range
  // that was evicted or dropped.
  auto again = p.Admit(2, 0, 0, kMiB, 0.9, kT0 + seconds(131), {}, 0);
  ASSERT_TRUE(again) << "rerequest_after passed";
  EXPECT_TRUE(p.Requested(2, 0, 4096, kT0 + seconds(131))) << "still counted for coverage";
  p.Done(2, *again, /*ok=*/true);
  EXPECT_TRUE(p.Admit(1, 0, 0, kMiB, 0.9, kT0 + seconds(131), {}, 0));
  p.Expire(kT0 + seconds(800));
  EXPECT_FALSE(p.Requested(2, 0, 4096, kT0 + seconds(800))) << "the horizon passed";

  // A failed prefetch may be asked for again at once.
  auto f = p.Admit(2, 0, 0, kMiB, 0.9, kT0 + seconds(800), {}, 0);
  ASSERT_TRUE(f);
  p.Done(2, *f, /*ok=*/false);
  EXPECT_TRUE(p.Admit(2, 0, 0, kMiB, 0.9, kT0 + seconds(800), {}, 0));
}

// A range asked for again (after rerequest_after) replaces the settled ones it covers: they
// would say nothing it does not, for less long. A range in flight stays until its Done.
TEST(PlannerTest, ARangeAskedForAgainReplacesTheOnesItCovers) {
  Planner p(Options());
  auto whole = p.Admit(1, 0, 0, kMiB, 0.9, kT0, {}, 0);
  ASSERT_TRUE(whole);
  p.Done(1, *whole, /*ok=*/true);
  auto head = p.Admit(1, 0, 4096, kMiB, 0.9, kT0 + seconds(31), {}, 0);
  ASSERT_TRUE(head) << "rerequest_after passed";
  EXPECT_EQ(p.ranges_held(), 2u) << "the head covers not the whole";
  for (int i = 2; i <= 5; ++i) {
    auto again = p.Admit(1, 0, 0, kMiB, 0.9, kT0 + seconds(31 * i), {}, 0);
    ASSERT_TRUE(again) << i;
    p.Done(1, *again, /*ok=*/true);
  }
  EXPECT_EQ(p.ranges_held(), 2u) << "one settled whole range, and the head still in flight";
  p.Done(1, *head, /*ok=*/true);
  auto last = p.Admit(1, 0, 0, kMiB, 0.9, kT0 + seconds(31 * 6), {}, 0);
  ASSERT_TRUE(last);
  EXPECT_EQ(p.ranges_held(), 1u);
  EXPECT_TRUE(p.Requested(1, 0, 4096, kT0 + seconds(31 * 6 + 599))) << "the newest's horizon";
}

// Expire sweeps every key within kSweepSeconds, however many: the ranges of a horizon that
// passed are gone (their memory with them), and a range costs about 24 bytes.
TEST(PlannerTest, ExpiredRangesAreSweptWithinTheSweepPeriod) {
  PlannerOptions o = Options();
  o.max_bytes_in_flight = 1ull << 40;
  Planner p(o);
  const size_t before = p.MemoryBytes();
  for (KeyId k = 0; k < 10'000; ++k) {
    auto d = p.Admit(k, 0, 0, 4096, 0.95, kT0, {}, 0);
    ASSERT_TRUE(d);
    p.Done(k, *d, /*ok=*/true);
  }
  EXPECT_EQ(p.ranges_held(), 10'000u);
  const size_t held = p.MemoryBytes() - before;
  EXPECT_LT(held, 10'000u * 40) << "24 bytes a range, 4 a key, some room to grow";
  base::WallTime t = kT0 + o.horizon;
  for (int i = 0; i <= Planner::kSweepSeconds; ++i) {
    t += seconds(1);
    p.Expire(t);
  }
  EXPECT_EQ(p.ranges_held(), 0u);
  for (KeyId k = 0; k < 10'000; ++k) ASSERT_FALSE(p.Requested(k, 0, 4096, t)) << k;
  // Their slots are reused: as many ranges again take no more memory.
  for (KeyId k = 0; k < 10'000; ++k) ASSERT_TRUE(p.Admit(k, 0, 0, 4096, 0.95, t, {}, 0));
  EXPECT_EQ(p.MemoryBytes() - before, held);
}

TEST(PlannerTest, BytesInFlightAreBounded) {
  Planner p(Options());
  std::vector<Planner::Decision> admitted;
  for (KeyId k = 0; k < 5; ++k) {
    auto d = p.Admit(k, 0, 0, 4 * kMiB, 0.95, kT0, {}, 0);
    if (d) admitted.push_back(*d);
  }
  EXPECT_EQ(admitted.size(), 2u) << "10 MiB in flight holds two 4 MiB requests";
  EXPECT_EQ(p.bytes_in_flight(), 8 * kMiB);
  p.Done(0, admitted[0], true);
  EXPECT_TRUE(p.Admit(7, 0, 0, 4 * kMiB, 0.95, kT0, {}, 0));
  // A refused request gives its budget back and may be asked for again.
  Planner q(Options());
  auto d = q.Admit(1, 0, 0, 4 * kMiB, 0.95, kT0, {}, 0);
  ASSERT_TRUE(d);
  q.Refused(1, *d);
  EXPECT_EQ(q.bytes_in_flight(), 0u);
  EXPECT_TRUE(q.Admit(1, 0, 0, 4 * kMiB, 0.95, kT0, {}, 0));
}

TEST(PlannerTest, BandwidthTokenBucketRefillsWithTime) {
  PlannerOptions o = Options();
  o.bandwidth_bytes_per_second = 2 * kMiB;
  o.max_bytes_in_flight = 1000 * kMiB;
  Planner p(o);
  // The bucket holds max(rate, max_request_bytes) = 4 MiB.
  EXPECT_TRUE(p.Admit(1, 0, 0, 4 * kMiB, 0.95, kT0, {}, 0));
  EXPECT_FALSE(p.Admit(2, 0, 0, kMiB, 0.95, kT0, {}, 0)) << "bucket empty";
  EXPECT_TRUE(p.Admit(2, 0, 0, kMiB, 0.95, kT0 + std::chrono::milliseconds(500), {}, 0));
  EXPECT_FALSE(p.Admit(3, 0, 0, 2 * kMiB, 0.95, kT0 + std::chrono::milliseconds(500), {}, 0));
  EXPECT_TRUE(p.Admit(3, 0, 0, 2 * kMiB, 0.95, kT0 + seconds(2), {}, 0));
}

TEST(PlannerTest, StoreShareLimitsUnreadPrefetchedBytes) {
  PlannerOptions o = Options();
  o.store_share = 0.5;
  o.max_bytes_in_flight = 1000 * kMiB;
  Planner p(o);
  StoreState store{0, 10 * kMiB};
  EXPECT_TRUE(p.Admit(1, 0, 0, kMiB, 0.95, kT0, store, 3 * kMiB));
  EXPECT_FALSE(p.Admit(2, 0, 0, kMiB, 0.95, kT0, store, 4 * kMiB + kMiB / 2))
      << "5 MiB share exceeded";
}

TEST(PlannerTest, BacksOffAsTheStoreFills) {
  Planner p(Options());
  StoreState empty{0, 100 * kMiB}, busy{90 * kMiB, 100 * kMiB}, full{100 * kMiB, 100 * kMiB};
  EXPECT_DOUBLE_EQ(p.EffectiveThreshold(empty), 0.8);
  EXPECT_NEAR(p.EffectiveThreshold(busy), 0.9, 1e-9);
  EXPECT_DOUBLE_EQ(p.EffectiveThreshold(full), 1.0);
  EXPECT_TRUE(p.Admit(1, 0, 0, 1024, 0.85, kT0, empty, 0));
  EXPECT_FALSE(p.Admit(2, 0, 0, 1024, 0.85, kT0, busy, 0));
  EXPECT_FALSE(p.Admit(3, 0, 0, 1024, 0.999, kT0, full, 0)) << "a full store takes nothing";
}

// The store refusing prefetches for space (they were worth less than what they would evict)
// backs the planner off too; stored prefetches and time let that pressure go again.
TEST(PlannerTest, BacksOffWhileTheStoreRefusesPrefetchesForSpace) {
  PlannerOptions o = Options();
  o.max_bytes_in_flight = 1000 * kMiB;
  Planner p(o);
  StoreState half{50 * kMiB, 100 * kMiB};
  EXPECT_DOUBLE_EQ(p.EffectiveThreshold(half), 0.8);
  auto d = p.Admit(1, 0, 0, 1024, 0.85, kT0, half, 0);
  ASSERT_TRUE(d);
  p.Done(1, *d, /*ok=*/false, /*no_space=*/true);
  EXPECT_NEAR(p.pressure(), 0.25, 1e-9);
  EXPECT_NEAR(p.EffectiveThreshold(half), 0.85, 1e-9);
  for (KeyId k = 2; k < 5; ++k) {
    auto r = p.Admit(k, 0, 0, 1024, 0.999, kT0, half, 0);
    ASSERT_TRUE(r);
    p.Done(k, *r, /*ok=*/false, /*no_space=*/true);
  }
  EXPECT_DOUBLE_EQ(p.EffectiveThreshold(half), 1.0) << "every prefetch refused: none is tried";
  EXPECT_FALSE(p.Admit(10, 0, 0, 1024, 0.999, kT0, half, 0));
  p.Expire(kT0);
  p.Expire(kT0 + Planner::kPressureHalfLife);
  EXPECT_NEAR(p.pressure(), 0.5, 1e-9) << "halved after a half-life without refusals";
  auto ok = p.Admit(11, 0, 0, 1024, 0.95, kT0 + Planner::kPressureHalfLife, half, 0);
  ASSERT_TRUE(ok) << "the most probable candidates are tried first";
  p.Done(11, *ok, /*ok=*/true);
  EXPECT_NEAR(p.pressure(), 0.4, 1e-9) << "a stored prefetch relieves it";
}

TEST(PlannerTest, LargeRangesNeedMoreConfidenceThanSmallOnes) {
  PlannerOptions o = Options();
  o.max_request_bytes = 1ull << 30;
  o.max_bytes_in_flight = 1ull << 31;
  Planner p(o);
  p.set_threshold(Planner::kMinThreshold);
  // 4 KiB: the 20 ms request dominates; 1 GiB: ten seconds of transfer must pay off.
  EXPECT_TRUE(p.Admit(1, 0, 0, 4096, 0.3, kT0, {}, 0));
  EXPECT_FALSE(p.Admit(2, 0, 0, 1ull << 30, 0.3, kT0, {}, 0));
  EXPECT_TRUE(p.Admit(2, 0, 0, 1ull << 30, 0.6, kT0, {}, 0));
}

TEST(PlannerTest, ThresholdRisesQuicklyBelowTargetAndFallsSlowlyAbove) {
  Planner p(Options());
  p.Adapt();
  EXPECT_DOUBLE_EQ(p.threshold(), 0.8) << "no outcomes yet: no change";
  for (int i = 0; i < 20; ++i) p.RecordOutcome(kMiB / 2, kMiB / 2);  // precision 0.5
  p.Adapt();
  double raised = p.threshold();
  EXPECT_GT(raised, 0.8);
  for (int i = 0; i < 100; ++i) p.Adapt();
  EXPECT_DOUBLE_EQ(p.threshold(), Planner::kMaxThreshold) << "bounded";

  for (int i = 0; i < 300; ++i) p.RecordOutcome(kMiB, 0);  // precision 1
  p.Adapt();
  double lowered = p.threshold();
  EXPECT_LT(lowered, Planner::kMaxThreshold);
  EXPECT_LT(Planner::kMaxThreshold - lowered, raised - 0.8) << "lowers slower than it raises";
  for (int i = 0; i < 1000; ++i) p.Adapt();
  EXPECT_DOUBLE_EQ(p.threshold(), Planner::kMinThreshold) << "bounded";
}

}  // namespace
}  // namespace shadowfs::predict
