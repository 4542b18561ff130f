#include "predict/experts/change_rate.h"

#include <gtest/gtest.h>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

class ChangeRateExpertTest : public ::testing::Test {
 protected:
  void Read(const std::string& key, int64_t t, const std::string& etag) {
    std::vector<Candidate> out;
    expert_.Observe(make_.Open(key, "p", t, 4096, 0, 4096, etag), &out);
    EXPECT_TRUE(out.empty());
  }
  std::vector<std::string> Tick(int64_t t) {
    std::vector<Candidate> out;
    expert_.Tick(At(t), &out);
    return testing::Names(keys_, out);
  }

  KeyTable keys_{1000};
  AccessMaker make_{&keys_};
  ChangeRateExpert::Options options_;  // horizon 600 s
  ChangeRateExpert expert_{options_, &keys_};
};

TEST_F(ChangeRateExpertTest, ScoresTheChanceOfAChangeWithinTheHorizon) {
  // "fast" changes every 5 minutes, "slow" every 2 hours, "still" never.
  for (int64_t t = 0; t <= 4 * 7200; t += 300) {
    Read("fast", t, "v" + std::to_string(t));
    Read("slow", t, "v" + std::to_string(t / 7200));
    Read("still", t, "v");
  }
  const double fast = expert_.Score(keys_.Intern("fast"), At(30'000));
  const double slow = expert_.Score(keys_.Intern("slow"), At(30'000));
  EXPECT_GT(fast, 0.8);
  EXPECT_GT(slow, 0.02);
  EXPECT_LT(slow, 0.2);
  EXPECT_EQ(expert_.Score(keys_.Intern("still"), At(30'000)), 0.0);
  EXPECT_EQ(expert_.Score(keys_.Intern("unknown"), At(30'000)), 0.0);
}

TEST_F(ChangeRateExpertTest, RefreshesAnOftenReadKeyRightAfterItsPredictedChange) {
  // The dashboard's data changes hourly; it is read every minute.
  for (int64_t t = 0; t < 3 * 3600; t += 60) {
    Read("dash.json", t, "v" + std::to_string(t / 3600));
    if (t % 3600 == 0) Read("rare.json", t, "v" + std::to_string(t / 3600));
    EXPECT_TRUE(Tick(t + 30).empty()) << t;
  }
  // Last change seen at 7200; the next is expected at 10800.
  EXPECT_TRUE(Tick(10'790).empty());
  EXPECT_EQ(Tick(10'801), (std::vector<std::string>{"dash.json"}));
  EXPECT_TRUE(Tick(10'802).empty());  // once per predicted change
}

TEST_F(ChangeRateExpertTest, ForgetAndRoundTrip) {
  for (int64_t t = 0; t < 5; ++t) Read("k", t * 100, "v" + std::to_string(t));
  KeyTable other(100);
  other.Intern("shift");
  ChangeRateExpert loaded(options_, &other);
  ASSERT_TRUE(testing::RoundTrip(expert_, keys_, &loaded, &other).ok());
  EXPECT_NEAR(loaded.Score(other.Intern("k"), At(600)), expert_.Score(keys_.Intern("k"), At(600)),
              1e-9);
  // The ETag seen last survives the restart: the same version is not a change.
  AccessMaker make(&other);
  std::vector<Candidate> out;
  const double before = loaded.Score(other.Intern("k"), At(600));
  loaded.Observe(make.Open("k", "p", 10'000, 4096, 0, 4096, "v4"), &out);
  EXPECT_NEAR(loaded.Score(other.Intern("k"), At(10'000)), before, 1e-9);
  expert_.Forget({keys_.Intern("k")});
  EXPECT_EQ(expert_.Score(keys_.Intern("k"), At(600)), 0.0);
  EXPECT_EQ(loaded.Load("bad", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
