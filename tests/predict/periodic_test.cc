#include "predict/experts/periodic.h"

#include <gtest/gtest.h>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

constexpr int64_t kDay = 86400;
// 2026-11-21 00:00:00 UTC.
constexpr int64_t kNov21 = 1'795'219'200;

TEST(PathDateTest, FindsAndAdvancesDates) {
  auto d = FindPathDate("etl/date=2026-11-21/");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->pos, 9u);
  EXPECT_EQ(d->len, 10u);
  EXPECT_EQ(d->days * kDay, kNov21);
  EXPECT_EQ(WithPathDate("etl/date=2026-11-21/", *d, d->days + 1), "etl/date=2026-11-22/");
  EXPECT_EQ(WithPathDate("etl/date=2026-11-21/", *d, d->days + 10), "etl/date=2026-12-01/");
  auto compact = FindPathDate("logs/20261231/");
  ASSERT_TRUE(compact.has_value());
  EXPECT_EQ(WithPathDate("logs/20261231/", *compact, compact->days + 1), "logs/20270101/");
  EXPECT_FALSE(FindPathDate("build/123456789/").has_value());  // 9 digits: not a date
  EXPECT_FALSE(FindPathDate("x/2026-02-30/").has_value());     // no such day
  EXPECT_FALSE(FindPathDate("part-00007/").has_value());
}

class PeriodicExpertTest : public ::testing::Test {
 protected:
  void AddPartition(int32_t day_offset, int files = 3) {
    const std::string dir = "etl/date=" + Date(day_offset) + "/";
    for (int i = 0; i < files; ++i) names_.Add(dir + "part-" + std::to_string(i));
  }
  static std::string Date(int32_t day_offset) {
    auto d = FindPathDate("2026-11-21");
    return WithPathDate("2026-11-21", *d, d->days + day_offset);
  }
  void ReadPartition(int32_t day_offset, int64_t t) {
    std::vector<Candidate> out;
    const std::string dir = "etl/date=" + Date(day_offset) + "/";
    for (int i = 0; i < 3; ++i) {
      expert_.Observe(make_.Open(dir + "part-" + std::to_string(i), "etl", t + i), &out);
    }
    EXPECT_TRUE(out.empty());
  }
  std::vector<std::string> TickNames(int64_t t) {
    std::vector<Candidate> out;
    expert_.Tick(At(t), &out);
    for (const Candidate& c : out) EXPECT_EQ(c.expected_read, At(next_expected_));
    return testing::Names(keys_, out);
  }

  KeyTable keys_{1000};
  testing::FakeNames names_;
  AccessMaker make_{&keys_};
  PeriodicExpert expert_{PeriodicExpert::Options{}, &keys_, &names_};
  int64_t next_expected_ = 0;
};

TEST_F(PeriodicExpertTest, NightlyJobPredictsTheNextDatePartition) {
  for (int d = 0; d < 4; ++d) AddPartition(d);
  // Nights of Nov 22 and 23 at 02:00 read the previous day's partition.
  ReadPartition(0, kNov21 + kDay + 2 * 3600);
  EXPECT_TRUE(TickNames(kNov21 + kDay + 12 * 3600).empty());
  ReadPartition(1, kNov21 + 2 * kDay + 2 * 3600 + 120);  // two minutes late: about the same time
  next_expected_ = kNov21 + 3 * kDay + 2 * 3600 + 60;
  EXPECT_TRUE(TickNames(kNov21 + 3 * kDay + 1 * 3600).empty());  // too early
  const auto names = TickNames(kNov21 + 3 * kDay + 2 * 3600 - 200);
  EXPECT_EQ(names,
            (std::vector<std::string>{"etl/date=2026-11-23/part-0", "etl/date=2026-11-23/part-1",
                                      "etl/date=2026-11-23/part-2"}));
  EXPECT_TRUE(TickNames(kNov21 + 3 * kDay + 2 * 3600 - 100).empty());  // proposed once
  EXPECT_GT(expert_.Score(keys_.Intern("etl/date=2026-11-23/part-1"), At(next_expected_ - 300)),
            0.5);
  EXPECT_EQ(expert_.Score(keys_.Intern("etl/date=2026-11-22/part-1"), At(next_expected_ - 300)),
            0.0);
  EXPECT_EQ(expert_.Score(keys_.Intern("etl/date=2026-11-23/part-1"), At(next_expected_ - 5000)),
            0.0);  // beyond the horizon
}

// The partition is proposed up to an hour before the job, so that it is in the store when the
// job starts (and a Tick as coarse as a benchmark's scaled clock makes, 24 simulated minutes,
// still lands in the window twice: once to ask for the listing, once to use it).
TEST_F(PeriodicExpertTest, ProposesUpToAnHourAhead) {
  for (int d = 0; d < 3; ++d) AddPartition(d);
  ReadPartition(0, kNov21 + kDay + 2 * 3600);
  ReadPartition(1, kNov21 + 2 * kDay + 2 * 3600);
  next_expected_ = kNov21 + 3 * kDay + 2 * 3600;
  EXPECT_TRUE(TickNames(next_expected_ - 3700).empty());
  EXPECT_EQ(TickNames(next_expected_ - 3000).size(), 3u);
}

TEST_F(PeriodicExpertTest, RetriesUntilThePartitionIsWritten) {
  for (int d = 0; d < 2; ++d) AddPartition(d);
  ReadPartition(0, kNov21 + kDay + 2 * 3600);
  ReadPartition(1, kNov21 + 2 * kDay + 2 * 3600);
  next_expected_ = kNov21 + 3 * kDay + 2 * 3600;
  EXPECT_TRUE(TickNames(kNov21 + 3 * kDay + 2 * 3600 - 240).empty());  // not there yet
  AddPartition(2);
  EXPECT_TRUE(TickNames(kNov21 + 3 * kDay + 2 * 3600 - 230).empty());  // retried later
  EXPECT_EQ(TickNames(kNov21 + 3 * kDay + 2 * 3600 - 170).size(), 3u);
}

TEST_F(PeriodicExpertTest, SameDirectoryAtTheSameTimeAndIrregularReads) {
  names_.Add("reports/daily.csv");
  names_.Add("reports/summary.csv");
  std::vector<Candidate> out;
  expert_.Observe(make_.Open("reports/daily.csv", "cron", kNov21 + 9 * 3600), &out);
  expert_.Observe(make_.Open("reports/daily.csv", "cron", kNov21 + kDay + 9 * 3600 + 600), &out);
  next_expected_ = kNov21 + 2 * kDay + 9 * 3600 + 300;
  EXPECT_EQ(TickNames(kNov21 + 2 * kDay + 9 * 3600).size(), 2u);
  // Reads at unrelated times of day predict nothing.
  names_.Add("adhoc/x.csv");
  for (int d = 0; d < 6; ++d) {
    expert_.Observe(make_.Open("adhoc/x.csv", "sh", kNov21 + d * kDay + (d * 5 % 24) * 3600), &out);
  }
  for (int64_t t = kNov21 + 6 * kDay; t < kNov21 + 7 * kDay; t += 60) {
    EXPECT_TRUE(TickNames(t).empty());
  }
}

TEST_F(PeriodicExpertTest, SaveLoadKeepsThePrediction) {
  for (int d = 0; d < 4; ++d) AddPartition(d);
  ReadPartition(0, kNov21 + kDay + 2 * 3600);
  ReadPartition(1, kNov21 + 2 * kDay + 2 * 3600);
  KeyTable other(100);
  PeriodicExpert loaded(PeriodicExpert::Options{}, &other, &names_);
  ASSERT_TRUE(testing::RoundTrip(expert_, keys_, &loaded, &other).ok());
  std::vector<Candidate> out;
  loaded.Tick(At(kNov21 + 3 * kDay + 2 * 3600 - 60), &out);
  EXPECT_EQ(testing::Names(other, out).size(), 3u);
  EXPECT_EQ(loaded.Load("nope", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
