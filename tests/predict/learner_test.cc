#include "predict/learner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace shadowfs::predict {
namespace {

// One expert whose score is the true probability of a read, passed through a distortion the
// learner has to undo: the calibrated output must match the truth per bin.
TEST(LearnerTest, CalibratesADistortedScoreOnASyntheticStream) {
  Learner learner({"a", "b"});
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  auto features = [&](double truth) {
    Features x(learner.num_features(), 0);
    x[0] = static_cast<float>(std::sqrt(truth));  // overconfident expert
    x[1] = static_cast<float>(u(rng) * 0.1);      // noise expert
    learner.SetExtras(1 << 20, 0.5, &x);
    return x;
  };
  const double kTruths[] = {0.05, 0.2, 0.4, 0.6, 0.8, 0.95};
  for (int i = 0; i < 60000; ++i) {
    double truth = kTruths[i % 6];
    Features x = features(truth);
    double p = learner.Predict(x);
    learner.Update(x, u(rng) < truth, p);
  }
  // A logistic model cannot undo a square root exactly: within 0.1 of the truth per stream...
  for (double truth : kTruths) {
    EXPECT_NEAR(learner.Predict(features(truth)), truth, 0.1) << "truth " << truth;
  }
  // ...and calibrated where it counts: in each reliability bin, the mean prediction matches the
  // fraction of predictions that came true.
  for (size_t i = 0; i < Learner::kBins; ++i) {
    const Learner::Bin& b = learner.bins()[i];
    if (b.count < 200) continue;
    EXPECT_NEAR(b.predicted_sum / b.count, b.positives / b.count, 0.06) << "bin " << i;
  }
  EXPECT_LT(learner.CalibrationError(), 0.05);
  EXPECT_EQ(learner.labelled(), 60000u);
}

TEST(LearnerTest, AnUninformativeExpertConvergesToTheBaseRate) {
  Learner learner({"a"});
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 30000; ++i) {
    Features x(learner.num_features(), 0);
    x[0] = static_cast<float>(u(rng));  // says anything; reads happen 30% of the time regardless
    learner.SetExtras(4096, 1.0, &x);
    learner.Update(x, u(rng) < 0.3, learner.Predict(x));
  }
  for (float s : {0.1f, 0.5f, 0.9f}) {
    Features x(learner.num_features(), 0);
    x[0] = s;
    learner.SetExtras(4096, 1.0, &x);
    EXPECT_NEAR(learner.Predict(x), 0.3, 0.08) << "score " << s;
  }
}

// Before any label, a lone expert's score is taken about at its word, agreement raises it, and
// a candidate no expert scores is unlikely.
TEST(LearnerTest, AColdLearnerTakesALoneExpertAtItsWord) {
  Learner learner({"a", "b", "c"});
  auto predict = [&](float a, float b) {
    Features x(learner.num_features(), 0);
    x[0] = a;
    x[1] = b;
    learner.SetExtras(1 << 20, 0, &x);
    return learner.Predict(x);
  };
  for (float s : {0.3f, 0.5f, 0.75f, 0.8f}) EXPECT_NEAR(predict(s, 0), s, 0.035) << s;
  EXPECT_LT(predict(0, 0), 0.15);
  EXPECT_GT(predict(0.75f, 0.75f), 0.9);
  EXPECT_LT(predict(0.75f, 0), 0.8) << "below the initial threshold alone";
  EXPECT_GE(predict(0.95f, 0), 0.8) << "a confident expert alone passes it";
}

TEST(LearnerTest, ReliabilityBinsReportAMiscalibratedStream) {
  Learner learner({"a"});
  Features x(learner.num_features(), 0);
  EXPECT_EQ(learner.CalibrationError(), 0.0);
  EXPECT_EQ(learner.CalibrationLabels(), 0.0) << "no labels: no error known, not a perfect one";
  // Predictions of 0.9 that are never right: every one lands in the top bin, error about 0.9.
  for (int i = 0; i < 100; ++i) learner.Update(x, false, 0.9);
  EXPECT_NEAR(learner.CalibrationError(), 0.9, 1e-6);
  EXPECT_GT(learner.CalibrationLabels(), 50.0);
  EXPECT_NEAR(learner.bins()[9].count, learner.bins()[9].predicted_sum / 0.9, 1e-6);
}

TEST(LearnerTest, WeightsSurviveSaveAndLoadByName) {
  Learner a({"x", "y"});
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 5000; ++i) {
    Features f(a.num_features(), 0);
    f[1] = static_cast<float>(u(rng));
    a.SetExtras(100, 0, &f);
    a.Update(f, u(rng) < f[1], a.Predict(f));
  }
  // The experts in another order: weights follow the names.
  Learner b({"y", "x"});
  ASSERT_TRUE(b.Load(a.Save()).ok());
  Features fa(a.num_features(), 0), fb(b.num_features(), 0);
  fa[1] = 0.7f;
  fb[0] = 0.7f;
  a.SetExtras(100, 0, &fa);
  b.SetExtras(100, 0, &fb);
  EXPECT_NEAR(a.Predict(fa), b.Predict(fb), 1e-6);

  EXPECT_FALSE(b.Load("garbage").ok());
  EXPECT_FALSE(b.Load("learner 1\nbias nan\n").ok());
  EXPECT_NEAR(a.Predict(fa), b.Predict(fb), 1e-6);  // a failed load changes nothing
}

}  // namespace
}  // namespace shadowfs::predict
