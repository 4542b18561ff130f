#include "predict/experts/epoch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

class EpochExpertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 100; ++i) {
      files_.push_back("train/img" + std::to_string(i) + ".jpg");
      names_.Add(files_.back(), 100'000);
    }
  }
  std::vector<Candidate> Open(EpochExpert* e, const std::string& key) {
    std::vector<Candidate> out;
    e->Observe(make_.Open(key, "python", ++t_), &out);
    return out;
  }
  std::vector<std::string> Shuffled() {
    std::vector<std::string> order = files_;
    std::shuffle(order.begin(), order.end(), rng_);
    return order;
  }

  KeyTable keys_{10'000};
  testing::FakeNames names_;
  AccessMaker make_{&keys_};
  EpochExpert::Options options_;
  std::vector<std::string> files_;
  std::mt19937 rng_{11};
  int64_t t_ = 1'000'000;
};

TEST_F(EpochExpertTest, ProposesTheUnreadMembersOfTheCurrentPass) {
  EpochExpert expert(options_, &keys_, &names_);
  for (const std::string& f : Shuffled()) EXPECT_TRUE(Open(&expert, f).empty());  // pass 1
  const std::vector<std::string> pass2 = Shuffled();
  std::set<std::string> read, proposed;
  for (size_t i = 0; i < pass2.size(); ++i) {
    read.insert(pass2[i]);
    for (const std::string& name : testing::Names(keys_, Open(&expert, pass2[i]))) {
      EXPECT_EQ(read.count(name), 0u) << name << " was read in this pass";
      EXPECT_TRUE(proposed.insert(name).second) << name << " proposed twice in a pass";
    }
    if (i == 0) {
      EXPECT_EQ(proposed.size(), options_.max_candidates);  // a bounded batch at a time
      EXPECT_EQ(expert.Score(keys_.Intern(pass2[0]), At(t_)), 0.0);
      EXPECT_GT(expert.Score(keys_.Intern(pass2[1]), At(t_)), 0.5);
    }
  }
  // Every member was either read before it was proposed or proposed ahead of its read.
  EXPECT_GE(proposed.size(), 90u);
  // Pass 3 starts with its first read and proposes again.
  const std::vector<std::string> pass3 = Shuffled();
  EXPECT_FALSE(Open(&expert, pass3[0]).empty());
}

TEST_F(EpochExpertTest, NothingBeforeAFullPass) {
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  // Most of the set, then re-reads: a partial pass is not an epoch.
  for (size_t i = 0; i < 80; ++i) EXPECT_TRUE(Open(&expert, order[i]).empty());
  for (size_t i = 0; i < 40; ++i) EXPECT_TRUE(Open(&expert, order[i]).empty());
  EXPECT_EQ(expert.Score(keys_.Intern(order[90]), At(t_)), 0.0);
}

TEST_F(EpochExpertTest, StaysQuietWithoutANamespaceView) {
  EpochExpert expert(options_, &keys_, nullptr);
  for (int pass = 0; pass < 3; ++pass) {
    for (const std::string& f : Shuffled()) EXPECT_TRUE(Open(&expert, f).empty());
  }
}

TEST_F(EpochExpertTest, ForgottenIdsAreNeverProposedForTheirNewKeys) {
  EpochExpert expert(options_, &keys_, &names_);
  for (const std::string& f : Shuffled()) Open(&expert, f);
  std::vector<KeyId> gone;
  for (int i = 0; i < 50; ++i) gone.push_back(keys_.Intern(files_[i]));
  expert.Forget(gone);
  keys_.Release(gone);
  // The engine reuses the ids for other keys.
  for (int i = 0; i < 50; ++i) keys_.Intern("elsewhere/" + std::to_string(i));
  std::set<std::string> proposed;
  for (const std::string& f : Shuffled()) {
    for (const std::string& name : testing::Names(keys_, Open(&expert, f))) proposed.insert(name);
  }
  EXPECT_FALSE(proposed.empty());
  for (const std::string& name : proposed) EXPECT_EQ(name.rfind("train/", 0), 0u) << name;
}

TEST_F(EpochExpertTest, SaveLoadKeepsThePasses) {
  EpochExpert expert(options_, &keys_, &names_);
  for (const std::string& f : Shuffled()) Open(&expert, f);
  const std::vector<std::string> pass2 = Shuffled();
  for (size_t i = 0; i < 10; ++i) Open(&expert, pass2[i]);
  KeyTable other(10'000);
  for (int i = 0; i < 30; ++i) other.Intern("shift-" + std::to_string(i));
  EpochExpert loaded(options_, &other, &names_);
  ASSERT_TRUE(testing::RoundTrip(expert, keys_, &loaded, &other).ok());
  AccessMaker make(&other);
  std::vector<Candidate> out;
  loaded.Observe(make.Open(pass2[10], "python", ++t_), &out);
  ASSERT_FALSE(out.empty());
  for (const Candidate& c : out) {
    const std::string name(other.Name(c.key));
    EXPECT_EQ(std::find(pass2.begin(), pass2.begin() + 11, name), pass2.begin() + 11) << name;
  }
  EXPECT_EQ(loaded.Load("x", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
