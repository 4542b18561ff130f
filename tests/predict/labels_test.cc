#include "predict/labels.h"

#include <algorithm>
#include <chrono>

#include <gtest/gtest.h>

#include "predict/experts/all.h"
#include "predict/learner.h"

namespace shadowfs::predict {
namespace {

using std::chrono::seconds;

TEST(PackedFeaturesTest, KeepsEachFeatureToWithinHalfAStep) {
  Features x = {0.0f, 1.0f, 0.5f, 0.123f, 0.999f, 0.001f};
  PackedFeatures packed(x);
  ASSERT_EQ(packed.size(), x.size());
  Features back;
  packed.Unpack(&back);
  ASSERT_EQ(back.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_NEAR(back[i], x[i], 0.5 / 255 + 1e-6) << i;
    EXPECT_EQ(back[i], packed[i]);
  }
  EXPECT_EQ(packed[x.size()], 0.0f) << "past the end reads as 0";
}

TEST(PackedFeaturesTest, ClampsToTheUnitRangeAndKeepsAtMostKMax) {
  Features x(PackedFeatures::kMax + 3, 0.25f);
  x[0] = -3.0f;
  x[1] = 7.0f;
  PackedFeatures packed(x);
  EXPECT_EQ(packed.size(), PackedFeatures::kMax);
  EXPECT_EQ(packed[0], 0.0f);
  EXPECT_EQ(packed[1], 1.0f);
  EXPECT_EQ(sizeof(PackedFeatures), PackedFeatures::kMax + 1) << "inline, no heap";
}

// The queue gives a prediction's features back, unpacked, with its label.
// Every feature of the engine's default experts fits a pending prediction, none is dropped.
TEST(PackedFeaturesTest, TheEnginesFeaturesFit) {
  KeyTable keys(16);
  const size_t experts = MakeExperts(ExpertsOptions{}, &keys, nullptr).size();
  EXPECT_LE(experts + Learner::kExtraFeatures, PackedFeatures::kMax);
}

// A prediction's probability is kept in 16 bits: to within half a step of 1/65535.
TEST(LabelQueueTest, AProbabilityIsKeptToWithinHalfAStep) {
  LabelQueue q(16, 4);
  const base::WallTime t0(std::chrono::seconds(1'700'000'000));
  for (double p : {0.0, 1e-6, 0.123456, 0.8, 0.999999, 1.0, 1.5}) {
    double got = -1;
    q.Add(1, 0, 10, p, t0, t0, {}, nullptr);
    q.Expire(t0, [&](const LabelQueue::Pending& pending, bool) { got = pending.probability(); });
    EXPECT_NEAR(got, std::min(p, 1.0), 0.5 / 65535) << p;
  }
}

TEST(LabelQueueTest, LabelsCarryTheirFeatures) {
  LabelQueue q(16, 4);
  const base::WallTime t0(seconds(1000));
  q.Add(7, 0, 100, 0.9, t0, t0 + seconds(30), Features{0.5f, 1.0f});
  q.Add(8, 0, 100, 0.2, t0, t0 + seconds(30), Features{0.1f});
  q.Read(7, 50, 10, t0 + seconds(5), nullptr);
  std::vector<std::pair<KeyId, bool>> labels;
  q.Expire(t0 + seconds(31), [&](const LabelQueue::Pending& p, bool label) {
    labels.emplace_back(p.key, label);
    if (p.key == 7) {
      EXPECT_NEAR(p.features[0], 0.5f, 0.002f);
      EXPECT_EQ(p.features[1], 1.0f);
    }
  });
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0], std::make_pair(KeyId{7}, true));
  EXPECT_EQ(labels[1], std::make_pair(KeyId{8}, false));
  EXPECT_EQ(q.size(), 0u);
}

// A hit of a prediction with a long window (a member of a shuffled pass, which may be read any
// time until the pass ends) is labelled at once; a short one waits for its deadline, and a miss
// always does.
TEST(LabelQueueTest, AHitWithALongWindowIsLabelledAtOnce) {
  LabelQueue q(16, 4, std::chrono::seconds(30));
  const base::WallTime t0(seconds(1000));
  q.Add(1, 0, 100, 0.9, t0, t0 + seconds(120), Features{0.5f});  // long: read at 5 s
  q.Add(2, 0, 100, 0.9, t0, t0 + seconds(10), Features{0.5f});   // short: read at 5 s
  q.Add(3, 0, 100, 0.9, t0, t0 + seconds(120), Features{0.5f});  // long: never read
  std::vector<std::pair<KeyId, bool>> labels;
  auto record = [&](const LabelQueue::Pending& p, bool label) {
    labels.emplace_back(p.key, label);
  };
  q.Read(1, 0, 10, t0 + seconds(5), nullptr, record);
  q.Read(2, 0, 10, t0 + seconds(5), nullptr, record);
  ASSERT_EQ(labels.size(), 1u);
  EXPECT_EQ(labels[0], std::make_pair(KeyId{1}, true));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_FALSE(q.Has(1, 0, 100)) << "settled";
  q.Read(1, 0, 10, t0 + seconds(6), nullptr, record);  // read again: nothing left to label
  q.Expire(t0 + seconds(11), record);
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[1], std::make_pair(KeyId{2}, true));
  q.Expire(t0 + seconds(121), record);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[2], std::make_pair(KeyId{3}, false));
  EXPECT_EQ(q.size(), 0u);
}

// A prediction of a read expected in an hour (a nightly job's input) holds up no other label.
TEST(LabelQueueTest, APredictionDueLaterHoldsUpNoOther) {
  LabelQueue q(16, 4);
  const base::WallTime t0(seconds(1000));
  q.Add(1, 0, 0, 0.5, t0 + seconds(3600), t0 + seconds(3630), Features{0.5f});
  q.Add(2, 0, 0, 0.5, t0, t0 + seconds(30), Features{0.5f});
  std::vector<KeyId> labelled;
  auto fn = [&](const LabelQueue::Pending& p, bool) { labelled.push_back(p.key); };
  q.Expire(t0 + seconds(31), fn);
  EXPECT_EQ(labelled, std::vector<KeyId>{2});
  q.Read(1, 0, 10, t0 + seconds(3601), nullptr);
  q.Expire(t0 + seconds(3631), fn);
  EXPECT_EQ(labelled, (std::vector<KeyId>{2, 1}));
  EXPECT_EQ(q.size(), 0u);
}

// Full, the queue labels the prediction due soonest at once, with what is known of it, rather
// than dropping it unlabelled.
TEST(LabelQueueTest, AtCapacityThePredictionDueSoonestIsLabelledEarly) {
  LabelQueue q(2, 4);
  const base::WallTime t0(seconds(1000));
  std::vector<std::pair<KeyId, bool>> labelled;
  auto fn = [&](const LabelQueue::Pending& p, bool label) { labelled.emplace_back(p.key, label); };
  q.Add(1, 0, 0, 0.5, t0, t0 + seconds(60), Features{}, fn);
  q.Add(2, 0, 0, 0.5, t0, t0 + seconds(30), Features{}, fn);
  q.Read(2, 0, 1, t0 + seconds(1), nullptr);
  q.Add(3, 0, 0, 0.5, t0 + seconds(2), t0 + seconds(90), Features{}, fn);
  ASSERT_EQ(labelled.size(), 1u);
  EXPECT_EQ(labelled[0], std::make_pair(KeyId{2}, true));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_TRUE(q.Has(1, 0, 10));
  EXPECT_TRUE(q.Has(3, 0, 10));
}

// A key keeps at most per_key predictions: a new one replaces its oldest, unlabelled; Forget
// drops a key's predictions unlabelled.
TEST(LabelQueueTest, PerKeyLimitAndForgetDropUnlabelled) {
  LabelQueue q(16, 2);
  const base::WallTime t0(seconds(1000));
  q.Add(5, 0, 10, 0.5, t0, t0 + seconds(30), Features{});
  q.Add(5, 10, 10, 0.5, t0, t0 + seconds(30), Features{});
  q.Add(5, 20, 10, 0.5, t0, t0 + seconds(30), Features{});
  q.Add(6, 0, 10, 0.5, t0, t0 + seconds(30), Features{});
  EXPECT_FALSE(q.Has(5, 0, 10)) << "the oldest made way";
  EXPECT_TRUE(q.Has(5, 10, 10));
  EXPECT_TRUE(q.Has(5, 20, 10));
  q.Forget({6});
  EXPECT_FALSE(q.Has(6, 0, 10));
  std::vector<std::pair<KeyId, uint64_t>> labelled;
  q.Expire(t0 + seconds(30),
           [&](const LabelQueue::Pending& p, bool) { labelled.emplace_back(p.key, p.offset); });
  EXPECT_EQ(labelled, (std::vector<std::pair<KeyId, uint64_t>>{{5, 10}, {5, 20}}))
      << "in the order they were added";
  EXPECT_EQ(q.size(), 0u);
}

// Slots freed by labels are reused: the queue's memory follows what is open, not what passed.
TEST(LabelQueueTest, MemoryFollowsWhatIsOpen) {
  LabelQueue q(1 << 16, 4);
  base::WallTime t(seconds(1000));
  for (int i = 0; i < 100'000; ++i) {
    t += std::chrono::milliseconds(10);
    q.Add(static_cast<KeyId>(i % 5000), 0, 0, 0.5, t, t + seconds(1), Features(9, 0.5f));
    if (i % 100 == 0) q.Expire(t, nullptr);
  }
  EXPECT_LE(q.size(), 200u);
  EXPECT_LT(q.MemoryBytes(), 64u * 1024) << "about 100 open predictions of 80 bytes each";
  EXPECT_EQ(sizeof(LabelQueue::Pending), 56u);
}

// Predictions labelled before their deadline (hits of long windows) leave nothing in the queue:
// each is labelled once, and the memory is that of what is open.
TEST(LabelQueueTest, PredictionsLabelledEarlyLeaveNothingBehind) {
  LabelQueue q(1 << 16, 4, seconds(30));
  base::WallTime t(seconds(1000));
  size_t labelled = 0;
  auto count = [&](const LabelQueue::Pending&, bool) { ++labelled; };
  for (int i = 0; i < 50'000; ++i) {
    t += std::chrono::milliseconds(1);
    const auto key = static_cast<KeyId>(i % 5000);
    q.Add(key, 0, 0, 0.9, t, t + seconds(600), Features(9, 0.5f), count);
    if (i % 2 == 0) q.Read(key, 0, 10, t, nullptr, count);
  }
  // Even keys are read after each prediction; odd ones never, and keep their newest 4 (a key's
  // oldest makes way unlabelled).
  EXPECT_EQ(labelled, 25'000u) << "the hits, at once";
  EXPECT_EQ(q.size(), 2'500u * 4);
  EXPECT_LT(q.MemoryBytes(), 10'000u * (64 + 8) * 5 / 4 + 64 * 1024);
  q.Expire(t + seconds(600), count);
  EXPECT_EQ(labelled, 25'000u + 10'000u);
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace shadowfs::predict
