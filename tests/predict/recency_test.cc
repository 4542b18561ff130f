#include "predict/experts/recency.h"

#include <gtest/gtest.h>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

TEST(RecencyExpertTest, ScoresDecayWithTimeAndGrowWithReads) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  RecencyExpert expert(RecencyExpert::Options{std::chrono::seconds(600)});
  std::vector<Candidate> out;
  const KeyId unknown = keys.Intern("never");
  EXPECT_EQ(expert.Score(unknown, At(1000)), 0.0);
  expert.Observe(make.Open("once", "p", 1000), &out);
  EXPECT_NEAR(expert.Score(keys.Intern("once"), At(1000)), 0.5, 1e-6);
  EXPECT_NEAR(expert.Count(keys.Intern("once"), At(1600)), 0.5, 1e-6);  // one half-life
  EXPECT_LT(expert.Score(keys.Intern("once"), At(1600)), 0.5);
  EXPECT_LT(expert.Score(keys.Intern("once"), At(10'000)), 0.01);
  for (int i = 0; i < 5; ++i) expert.Observe(make.Open("often", "p", 1000 + i), &out);
  EXPECT_GT(expert.Score(keys.Intern("often"), At(1005)), 0.95);
  // Sequential reads of one open are one use.
  expert.Observe(make.Read("once", "p", 1000, 1 << 20, 4096, 4096), &out);
  EXPECT_NEAR(expert.Score(keys.Intern("once"), At(1000)), 0.5, 1e-6);
  EXPECT_TRUE(out.empty());  // proposes nothing
}

TEST(RecencyExpertTest, ForgetAndRoundTrip) {
  KeyTable keys(100), other(100);
  AccessMaker make(&keys);
  RecencyExpert expert(RecencyExpert::Options{std::chrono::seconds(600)});
  RecencyExpert loaded(RecencyExpert::Options{std::chrono::seconds(600)});
  std::vector<Candidate> out;
  expert.Observe(make.Open("a", "p", 1000), &out);
  expert.Observe(make.Open("b", "p", 1300), &out);
  expert.Observe(make.Open("b", "p", 1400), &out);
  other.Intern("shift");
  ASSERT_TRUE(testing::RoundTrip(expert, keys, &loaded, &other).ok());
  for (const char* k : {"a", "b"}) {
    EXPECT_NEAR(loaded.Score(other.Intern(k), At(1500)), expert.Score(keys.Intern(k), At(1500)),
                1e-6);
  }
  expert.Forget({keys.Intern("b")});
  EXPECT_EQ(expert.Score(keys.Intern("b"), At(1500)), 0.0);
  EXPECT_EQ(loaded.Load("junk", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

TEST(RecencyExpertTest, EightBytesPerKey) {
  KeyTable keys(200'000);
  AccessMaker make(&keys);
  RecencyExpert expert(RecencyExpert::Options{});
  std::vector<Candidate> out;
  for (int i = 0; i < 100'000; ++i)
    expert.Observe(make.Open("k" + std::to_string(i), "p", i), &out);
  EXPECT_LE(expert.MemoryBytes(), 100'000u * 8 * 3 / 2 + 1024);
}

}  // namespace
}  // namespace shadowfs::predict
