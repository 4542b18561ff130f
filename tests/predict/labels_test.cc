#include "predict/labels.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shadowfs::predict
