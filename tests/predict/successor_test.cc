#include "predict/experts/successor.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

const std::vector<std::string> kChain = {"src/main.c", "inc/a.h", "inc/b.h", "inc/c.h",
                                         "inc/d.h",    "inc/e.h", "inc/f.h"};

std::vector<Candidate> Open(SuccessorExpert* e, AccessMaker* make, const std::string& key,
                            const std::string& process, int64_t t) {
  std::vector<Candidate> out;
  e->Observe(make->Open(key, process, t), &out);
  return out;
}

TEST(SuccessorExpertTest, LearnsAnIncludeChainAndLooksAhead) {
  KeyTable keys(1000);
  AccessMaker make(&keys);
  SuccessorExpert expert(SuccessorExpert::Options{}, &keys);
  int64_t t = 1000;
  // The first build teaches; nothing is known before it.
  for (const std::string& k : kChain) EXPECT_TRUE(Open(&expert, &make, k, "cc1", ++t).empty());
  for (int build = 0; build < 3; ++build) {
    for (size_t i = 0; i < kChain.size(); ++i) {
      const std::vector<Candidate> out = Open(&expert, &make, kChain[i], "cc1", ++t);
      if (i + 1 == kChain.size()) continue;
      ASSERT_FALSE(out.empty()) << kChain[i];
      EXPECT_EQ(keys.Name(out[0].key), kChain[i + 1]);  // the most probable first
      for (const Candidate& c : out) {
        EXPECT_NE(c.key, keys.Intern(kChain[i]));
        EXPECT_GT(c.score, 0.0);
        EXPECT_LE(c.score, 1.0);
      }
      if (i + 3 < kChain.size()) {
        // The chain beyond the next open is proposed too, with lower scores.
        const auto names = testing::Names(keys, out);
        EXPECT_NE(std::find(names.begin(), names.end(), kChain[i + 2]), names.end());
      }
    }
  }
  EXPECT_GT(expert.Score(keys.Intern("inc/b.h"), At(t)), 0.5);
  EXPECT_EQ(expert.Score(keys.Intern("inc/b.h"), At(t + 100'000)), 0.0);  // past the horizon
}

TEST(SuccessorExpertTest, ShellDoesNotPolluteTheCompilersChain) {
  KeyTable keys(1000);
  AccessMaker make(&keys);
  SuccessorExpert expert(SuccessorExpert::Options{}, &keys);
  std::mt19937 rng(3);
  int64_t t = 1000;
  for (int build = 0; build < 4; ++build) {
    for (const std::string& k : kChain) {
      Open(&expert, &make, k, "cc1", ++t);
      // A shell lists and cats random files between the compiler's opens.
      for (int j = 0; j < 3; ++j) {
        const auto out =
            Open(&expert, &make, "home/notes" + std::to_string(rng() % 50), "bash", ++t);
        for (const Candidate& c : out) {
          EXPECT_EQ(keys.Name(c.key).substr(0, 4), "home") << keys.Name(c.key);
        }
      }
    }
  }
  for (size_t i = 0; i + 1 < kChain.size(); ++i) {
    const auto out = Open(&expert, &make, kChain[i], "cc1", ++t);
    ASSERT_FALSE(out.empty());
    EXPECT_EQ(keys.Name(out[0].key), kChain[i + 1]);
    for (const Candidate& c : out) EXPECT_NE(keys.Name(c.key).substr(0, 4), "home");
    EXPECT_GT(out[0].score, 0.6);
  }
}

TEST(SuccessorExpertTest, HigherOrderContextDisambiguates) {
  // b follows a in both x,a,b and y,a,c: order 2 tells which.
  KeyTable keys(100);
  AccessMaker make(&keys);
  SuccessorExpert expert(SuccessorExpert::Options{}, &keys);
  int64_t t = 0;
  for (int i = 0; i < 5; ++i) {
    for (const char* k : {"x", "a", "b", "y", "a", "c"}) Open(&expert, &make, k, "p", ++t);
  }
  Open(&expert, &make, "x", "p", ++t);
  EXPECT_EQ(keys.Name(Open(&expert, &make, "a", "p", ++t)[0].key), "b");
  Open(&expert, &make, "y", "p", ++t);
  EXPECT_EQ(keys.Name(Open(&expert, &make, "a", "p", ++t)[0].key), "c");
}

TEST(SuccessorExpertTest, BoundedMemoryUnderManyDistinctKeys) {
  KeyTable keys(200'000);
  AccessMaker make(&keys);
  SuccessorExpert::Options o;
  o.max_contexts = 50'000;
  SuccessorExpert expert(o, &keys);
  std::mt19937 rng(1);
  for (int i = 0; i < 300'000; ++i) {
    Open(&expert, &make, "k" + std::to_string(rng() % 100'000), "p" + std::to_string(i % 7), i);
  }
  EXPECT_LT(expert.MemoryBytes(), 50'000 * 100u);
  // Still learns after the churn.
  for (int i = 0; i < 3; ++i) {
    Open(&expert, &make, "m1", "q", 400'000 + 2 * i);
    Open(&expert, &make, "m2", "q", 400'001 + 2 * i);
  }
  const auto out = Open(&expert, &make, "m1", "q", 500'000);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(keys.Name(out[0].key), "m2");
}

TEST(SuccessorExpertTest, ForgetDropsTheKeys) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SuccessorExpert expert(SuccessorExpert::Options{}, &keys);
  for (int i = 0; i < 3; ++i) {
    Open(&expert, &make, "a", "p", 10 * i);
    Open(&expert, &make, "b", "p", 10 * i + 1);
  }
  expert.Forget({keys.Intern("b")});
  EXPECT_TRUE(Open(&expert, &make, "a", "p", 100).empty());
}

TEST(SuccessorExpertTest, SaveLoadRoundTripAcrossDifferentIds) {
  KeyTable keys(1000), other(1000);
  AccessMaker make(&keys), make_other(&other);
  SuccessorExpert a(SuccessorExpert::Options{}, &keys), b(SuccessorExpert::Options{}, &other);
  for (int i = 0; i < 3; ++i) {
    for (const std::string& k : kChain) Open(&a, &make, k, "cc1", 100 * i);
  }
  for (int i = 0; i < 50; ++i) other.Intern("shift-ids-" + std::to_string(i));
  ASSERT_TRUE(testing::RoundTrip(a, keys, &b, &other).ok());
  const auto out = Open(&b, &make_other, kChain[2], "cc1", 1000);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(other.Name(out[0].key), kChain[3]);
  // A truncated blob is refused and leaves the expert empty.
  const std::string blob = a.Save([&](KeyId id) { return keys.Name(id); });
  const auto intern = [&](std::string_view n) { return other.Intern(n); };
  EXPECT_EQ(b.Load(blob.substr(0, blob.size() / 2), intern).code(), base::StatusCode::kCorruption);
  EXPECT_TRUE(Open(&b, &make_other, kChain[4], "cc1", 2000).empty());
  EXPECT_EQ(b.Load(blob + "x", intern).code(), base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
