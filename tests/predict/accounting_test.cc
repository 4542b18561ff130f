#include "predict/accounting.h"

#include <gtest/gtest.h>

namespace shadowfs::predict {
namespace {

using std::chrono::seconds;
const base::WallTime kT0(seconds(1'700'000'000));

class AccountingTest : public ::testing::Test {
 protected:
  Accountant acc_{{"seq", "succ"}, seconds(600)};
  uint64_t useful_outcomes_ = 0, wasted_outcomes_ = 0;
  Accountant::OutcomeFn outcome_ = [this](uint64_t useful, uint64_t wasted) {
    useful_outcomes_ += useful;
    wasted_outcomes_ += wasted;
  };
};

// A prefetch asked for an hour ahead of its expected read (a nightly job's input) is judged from
// that read: not waste while the job has not come, useful and timely when it reads it.
TEST_F(AccountingTest, AHorizonCountsFromTheExpectedRead) {
  acc_.Requested(1, 0, 100, 0, kT0, kT0 + seconds(3600));
  acc_.Done(1, 0, true, 100, kT0 + seconds(2));
  acc_.Expire(kT0 + seconds(3000), seconds(30), outcome_);
  EXPECT_EQ(wasted_outcomes_, 0u) << "the read is not due yet";
  EXPECT_TRUE(acc_.Read(1, 0, 100, kT0 + seconds(3610), /*from_shadow=*/true, false, outcome_));
  EXPECT_EQ(useful_outcomes_, 100u);
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.timely_prefetches, 1u);
  EXPECT_EQ(a.covered_reads, 1u);
  EXPECT_EQ(a.overall.wasted_bytes, 0u);
}

// A record keeps its times as distances from the request, in 32 bits: a prefetch that finished
// hours after it was asked for is still finished, and a read a microsecond before it is not timely.
TEST_F(AccountingTest, FinishingTimesKeepTheirOrderAtEveryDistance) {
  acc_.Requested(1, 0, 100, 0, kT0, kT0 + seconds(7200));
  acc_.Done(1, 0, true, 100, kT0 + seconds(3 * 3600));
  EXPECT_TRUE(acc_.Read(1, 0, 10, kT0 + seconds(4 * 3600), true, false, outcome_));
  acc_.Requested(2, 0, 100, 0, kT0);
  acc_.Done(2, 0, true, 100, kT0 + std::chrono::microseconds(1500));
  EXPECT_FALSE(acc_.Read(2, 0, 10, kT0 + std::chrono::microseconds(1499), true, false, outcome_));
  EXPECT_TRUE(acc_.Read(2, 10, 10, kT0 + std::chrono::microseconds(1500), true, false, outcome_));
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.useful_prefetches, 2u);
  EXPECT_EQ(a.overall.timely_prefetches, 1u) << "key 2's first read came before it finished";
}

// The times count from the second the request was made in: one made late in a second keeps its
// finish, horizon and report to the millisecond.
TEST_F(AccountingTest, ARequestLateInASecondKeepsItsTimes) {
  using std::chrono::milliseconds;
  const base::WallTime t = kT0 + milliseconds(999);
  acc_.Requested(1, 0, 100, 0, t);
  acc_.Done(1, 0, true, 100, t + milliseconds(2));
  EXPECT_FALSE(acc_.Read(1, 0, 10, t + milliseconds(1), true, false, outcome_));
  EXPECT_TRUE(acc_.Read(1, 10, 10, t + milliseconds(2), true, false, outcome_));
  acc_.Expire(t + seconds(30) - milliseconds(1), seconds(30), outcome_);
  EXPECT_EQ(wasted_outcomes_, 0u) << "reported a millisecond early";
  acc_.Expire(t + seconds(30), seconds(30), outcome_);
  EXPECT_EQ(wasted_outcomes_, 80u);
  acc_.Expire(t + seconds(600) - milliseconds(1), seconds(30), outcome_);
  EXPECT_EQ(acc_.Snapshot().overall.wasted_bytes, 0u) << "expired a millisecond early";
  acc_.Expire(t + seconds(600), seconds(30), outcome_);
  EXPECT_EQ(acc_.Snapshot().overall.wasted_bytes, 80u);
  EXPECT_EQ(acc_.unread_bytes(), 0u);
}

// Prefetches read whole, refused, failed or expired leave nothing behind: round after round of
// them reuses the same memory.
TEST_F(AccountingTest, ClosedPrefetchesLeaveNothingBehind) {
  size_t after_first = 0;
  for (int round = 0; round < 5; ++round) {
    const base::WallTime t = kT0 + seconds(1000) * round;
    for (KeyId k = 0; k < 1000; ++k) {
      acc_.Requested(k, 0, 100, 0, t);
      acc_.Requested(k, 100, 100, 1, t);
      acc_.Requested(k, 200, 100, 1, t);
      acc_.Refused(k, 200, 100);
      acc_.Done(k, 0, true, 100, t);
      acc_.Done(k, 100, k % 2 == 0, 100, t);
      if (k % 3 == 0) acc_.Read(k, 0, 100, t + seconds(1), true, false, outcome_);
    }
    acc_.Expire(t + seconds(601), seconds(30), outcome_);
    EXPECT_EQ(acc_.unread_bytes(), 0u);
    if (round == 0) after_first = acc_.MemoryBytes();
    EXPECT_EQ(acc_.MemoryBytes(), after_first) << "round " << round;
  }
  EXPECT_EQ(acc_.Snapshot().overall.prefetches, 2u * 1000 * 5);
}

TEST_F(AccountingTest, PrecisionCoverageAndTimeliness) {
  // Three prefetches of 100 bytes: one read whole in time, one read half and late, one never.
  acc_.Requested(1, 0, 100, 0, kT0);
  acc_.Requested(2, 0, 100, 1, kT0);
  acc_.Requested(3, 0, 100, 1, kT0);
  EXPECT_EQ(acc_.unread_bytes(), 300u);
  acc_.Done(1, 0, true, 100, kT0 + seconds(1));
  acc_.Done(3, 0, true, 100, kT0 + seconds(1));

  EXPECT_TRUE(acc_.Read(1, 0, 60, kT0 + seconds(2), /*from_shadow=*/true, false, outcome_));
  EXPECT_TRUE(
      acc_.Read(1, 60, 60, kT0 + seconds(3), true, false, outcome_));  // 20 bytes past the end
  EXPECT_FALSE(acc_.Read(2, 0, 50, kT0 + seconds(4), false, false, outcome_)) << "not finished yet";
  acc_.Done(2, 0, true, 100, kT0 + seconds(5));
  EXPECT_FALSE(acc_.Read(9, 0, 10, kT0 + seconds(6), false, false, outcome_)) << "never prefetched";
  EXPECT_EQ(useful_outcomes_, 100u) << "key 1 was read whole: its outcome is final";

  acc_.Expire(kT0 + seconds(599), seconds(600), outcome_);
  EXPECT_EQ(wasted_outcomes_, 0u);
  acc_.Expire(kT0 + seconds(600), seconds(600), outcome_);
  EXPECT_EQ(useful_outcomes_, 150u);
  EXPECT_EQ(wasted_outcomes_, 150u);  // 50 of key 2, 100 of key 3
  EXPECT_EQ(acc_.unread_bytes(), 0u);

  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.prefetches, 3u);
  EXPECT_EQ(a.overall.prefetched_bytes, 300u);
  EXPECT_EQ(a.overall.useful_bytes, 150u);
  EXPECT_EQ(a.overall.wasted_bytes, 150u);
  EXPECT_DOUBLE_EQ(a.overall.precision(), 0.5);
  EXPECT_EQ(a.overall.useful_prefetches, 2u);
  EXPECT_EQ(a.overall.timely_prefetches, 1u);
  EXPECT_DOUBLE_EQ(a.overall.timeliness(), 0.5);
  EXPECT_EQ(a.demand_reads, 4u);
  EXPECT_EQ(a.demand_bytes, 180u);
  EXPECT_EQ(a.covered_reads, 2u);
  EXPECT_DOUBLE_EQ(a.coverage(), 0.5);
  ASSERT_EQ(a.experts.size(), 2u);
  EXPECT_EQ(a.experts[0].expert, "seq");
  EXPECT_DOUBLE_EQ(a.experts[0].precision(), 1.0);
  EXPECT_EQ(a.experts[1].useful_bytes, 50u);
  EXPECT_EQ(a.experts[1].wasted_bytes, 150u);
}

TEST_F(AccountingTest, RefusedAndFailedPrefetchesAreNotCountedAsWaste) {
  acc_.Requested(1, 0, 100, 0, kT0);
  acc_.Refused(1, 0, 100);
  acc_.Requested(2, 0, 100, 0, kT0);
  acc_.Done(2, 0, /*ok=*/false, 0, kT0 + seconds(1));
  acc_.Expire(kT0 + seconds(1000), seconds(600), outcome_);
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.prefetches, 1u) << "the refused one was never made";
  EXPECT_EQ(a.overall.wasted_bytes, 0u);
  EXPECT_EQ(acc_.unread_bytes(), 0u);
}

TEST_F(AccountingTest, UnknownLengthIsLearnedWhenDone) {
  acc_.Requested(1, 0, 0, 1, kT0);
  acc_.Done(1, 0, true, 4096, kT0 + seconds(1));
  EXPECT_EQ(acc_.unread_bytes(), 4096u);
  acc_.Read(1, 0, 4096, kT0 + seconds(2), true, false, outcome_);
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.prefetched_bytes, 4096u);
  EXPECT_DOUBLE_EQ(a.overall.precision(), 1.0);
}

// A sink that stores whole chunks fetches a 64 KiB footer as the 1 MiB chunk it ends: the
// whole chunk counts as prefetched, the footer read as useful, the rest as wasted once the
// horizon passes without a read of it.
TEST_F(AccountingTest, BytesStoredAroundTheRangeArePrefetchedToo) {
  constexpr uint64_t kKiB = 1024;
  acc_.Requested(1, 960 * kKiB, 64 * kKiB, 0, kT0);
  acc_.Done(1, 960 * kKiB, true, 1024 * kKiB, kT0 + seconds(1), /*stored_offset=*/0);
  EXPECT_EQ(acc_.unread_bytes(), 1024 * kKiB);
  acc_.Read(1, 960 * kKiB, 64 * kKiB, kT0 + seconds(2), true, false, outcome_);
  acc_.Expire(kT0 + seconds(700), seconds(30), outcome_);
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.overall.prefetched_bytes, 1024 * kKiB);
  EXPECT_EQ(a.overall.useful_bytes, 64 * kKiB);
  EXPECT_EQ(a.overall.wasted_bytes, 960 * kKiB);
  EXPECT_EQ(useful_outcomes_ + wasted_outcomes_, 1024 * kKiB);
  // Stored where it was asked (no rounding): nothing more.
  acc_.Requested(2, 0, 100, 1, kT0);
  acc_.Done(2, 0, true, 100, kT0 + seconds(1));
  acc_.Read(2, 0, 100, kT0 + seconds(2), true, false, outcome_);
  EXPECT_EQ(acc_.Snapshot().experts[1].prefetched_bytes, 100u);
}

TEST_F(AccountingTest, ReadsOfAShadowPrefetchedEarlierInTheHorizonAreCovered) {
  acc_.Requested(1, 0, 100, 0, kT0);
  acc_.Done(1, 0, true, 100, kT0);
  EXPECT_TRUE(acc_.Read(1, 0, 100, kT0 + seconds(1), true, false, outcome_));
  // Read whole: the record is closed, but the shadow it made serves the next read too.
  EXPECT_TRUE(acc_.Read(1, 0, 100, kT0 + seconds(2), true, /*prefetched_recently=*/true, outcome_));
  EXPECT_FALSE(acc_.Read(1, 0, 100, kT0 + seconds(3), true, false, outcome_));
  EXPECT_FALSE(acc_.Read(1, 0, 100, kT0 + seconds(4), false, true, outcome_));
  Accounting a = acc_.Snapshot();
  EXPECT_EQ(a.covered_reads, 2u);
  EXPECT_EQ(a.overall.useful_bytes, 100u) << "each prefetched byte is useful once";
}

TEST_F(AccountingTest, ThePlannerHearsOfWasteBeforeTheHorizon) {
  acc_.Requested(1, 0, 100, 0, kT0);
  acc_.Done(1, 0, true, 100, kT0);
  acc_.Read(1, 0, 30, kT0 + seconds(1), true, false, outcome_);
  acc_.Expire(kT0 + seconds(60), seconds(60), outcome_);
  EXPECT_EQ(useful_outcomes_, 30u);
  EXPECT_EQ(wasted_outcomes_, 70u);
  EXPECT_EQ(acc_.Snapshot().overall.wasted_bytes, 0u) << "the counters wait for the horizon";
  acc_.Expire(kT0 + seconds(600), seconds(60), outcome_);
  EXPECT_EQ(wasted_outcomes_, 70u) << "reported once";
  EXPECT_EQ(acc_.Snapshot().overall.wasted_bytes, 70u);
}

TEST_F(AccountingTest, ExportsDeltasAsCountersAndNeverDoubleCounts) {
  base::MetricsRegistry metrics;
  acc_.Requested(1, 0, 100, 1, kT0);
  acc_.Done(1, 0, true, 100, kT0);
  acc_.Read(1, 0, 100, kT0 + seconds(1), true, false, outcome_);
  acc_.ExportMetrics(&metrics);
  acc_.ExportMetrics(&metrics);
  auto& useful =
      metrics.GetCounter("shadowfs_predict_useful_bytes_total", "", {{"expert", "succ"}});
  EXPECT_EQ(useful.value(), 100u);
  EXPECT_EQ(metrics.GetCounter("shadowfs_predict_covered_reads_total", "").value(), 1u);
  acc_.Read(1, 0, 100, kT0 + seconds(2), false, false, outcome_);
  acc_.ExportMetrics(&metrics);
  EXPECT_EQ(metrics.GetCounter("shadowfs_predict_demand_reads_total", "").value(), 2u);
  std::string text = metrics.ExportPrometheus();
  EXPECT_NE(text.find("shadowfs_predict_prefetches_total{expert=\"succ\"} 1"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace shadowfs::predict
