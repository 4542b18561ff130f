// LookupReads: the per-process rate at which cold lookups are followed by an open for reading;
// LookupBodies: what those lookups fetched, until it is written as a shadow.
#include "fs/lookup_reads.h"
#include "fs/lookup_bodies.h"

#include <gtest/gtest.h>

#include <string>

namespace shadowfs::fs {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class LookupReadsTest : public ::testing::Test {
 protected:
  // `n` cold lookups by `process`, each of a new key, opened `opened` of them right after.
  void Run(LookupReads& r, const std::string& process, int n, bool opened) {
    for (int i = 0; i < n; ++i) {
      std::string key = process + "/" + std::to_string(next_++);
      r.Looked(key, process, now_);
      now_ += milliseconds(10);
      if (opened) r.Opened(key, now_);
      now_ += milliseconds(10);
    }
  }
  base::MonoTime now_{seconds(1000)};
  int next_ = 0;
};

TEST_F(LookupReadsTest, AProcessThatReadsWhatItLooksUpReadsOnLookupOnceKnown) {
  LookupReads r;
  Run(r, "cc1plus", 7, /*opened=*/true);
  EXPECT_FALSE(r.ShouldRead("cc1plus", now_)) << "seven outcomes are too few";
  Run(r, "cc1plus", 1, true);
  EXPECT_TRUE(r.ShouldRead("cc1plus", now_));
  EXPECT_FALSE(r.ShouldRead("ls", now_)) << "another process learned nothing";
  EXPECT_FALSE(r.ShouldRead("", now_));
}

TEST_F(LookupReadsTest, LookupsNotOpenedWithinTheWindowCountAsUnread) {
  LookupReads r;
  Run(r, "stat", 20, /*opened=*/false);
  now_ += seconds(3);  // past the window: the lookups resolve as unread
  EXPECT_FALSE(r.ShouldRead("stat", now_));
  EXPECT_EQ(r.RateOf("stat").outcomes, 20u);
  EXPECT_EQ(r.RateOf("stat").rate, 0.0);
  // An open after the window is too late to count.
  r.Looked("late", "stat", now_);
  now_ += seconds(3);
  r.Opened("late", now_);
  EXPECT_EQ(r.RateOf("stat").outcomes, 21u);
  EXPECT_EQ(r.RateOf("stat").rate, 0.0);
}

TEST_F(LookupReadsTest, AProcessThatStopsReadingFallsBackToHeads) {
  LookupReads r;
  Run(r, "python3", 40, /*opened=*/true);
  ASSERT_TRUE(r.ShouldRead("python3", now_));
  Run(r, "python3", 8, /*opened=*/false);
  now_ += seconds(3);
  EXPECT_FALSE(r.ShouldRead("python3", now_))
      << "rate " << r.RateOf("python3").rate << " after 8 unread of the last 48";
}

TEST_F(LookupReadsTest, IsBoundedInProcessesAndPendingLookups) {
  LookupReads::Options o;
  o.max_processes = 4;
  o.max_pending = 16;
  LookupReads r(o);
  for (int p = 0; p < 10; ++p) Run(r, "p" + std::to_string(p), 8, true);
  EXPECT_EQ(r.RateOf("p0").outcomes, 0u) << "the least recently seen process is gone";
  EXPECT_EQ(r.RateOf("p9").outcomes, 8u);
  // More lookups awaiting an open than max_pending: the oldest resolve as unread at once.
  for (int i = 0; i < 20; ++i) r.Looked("k" + std::to_string(i), "q", now_);
  EXPECT_EQ(r.RateOf("q").outcomes, 4u);
  r.Opened("k0", now_);  // already resolved
  r.Opened("k19", now_);
  EXPECT_EQ(r.RateOf("q").outcomes, 5u);
}

TEST(LookupBodiesTest, ServesTheVersionItHoldsUntilErasedWithinItsBytes) {
  LookupBodies bodies(10);
  bodies.Put("a", "e1", "0123456");
  std::string out(4, '.');
  EXPECT_EQ(bodies.Read("a", "e1", 2, out), 4u);
  EXPECT_EQ(out, "2345");
  EXPECT_EQ(bodies.Read("a", "e1", 5, out), 2u) << "fewer at the end";
  EXPECT_EQ(bodies.Read("a", "e2", 0, out), std::nullopt) << "another version";
  EXPECT_EQ(bodies.Read("b", "e1", 0, out), std::nullopt);
  bodies.Erase("a", "e2");
  EXPECT_TRUE(bodies.Read("a", "e1", 0, out).has_value()) << "erasing another version keeps it";
  bodies.Put("b", "e1", "xyz");
  bodies.Put("c", "e1", "uv");  // 7 + 3 + 2 > 10: the oldest goes
  EXPECT_EQ(bodies.Read("a", "e1", 0, out), std::nullopt);
  EXPECT_EQ(bodies.bytes(), 5u);
  bodies.Put("d", "e1", std::string(11, 'd'));  // larger than the whole budget: not held
  EXPECT_EQ(bodies.Read("d", "e1", 0, out), std::nullopt);
  bodies.Erase("b", "e1");
  EXPECT_EQ(bodies.bytes(), 2u);
}

}  // namespace
}  // namespace shadowfs::fs
