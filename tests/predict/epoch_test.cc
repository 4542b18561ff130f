#include "predict/experts/epoch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

// The fixture's directory has 100 members: a first pass is a set in progress after a quarter.
constexpr size_t kFirstPassReads = 25;

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
  options_.repropose_after = std::chrono::seconds(1000);  // see AllProposedAreProposedAgainLater
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> pass1 = Shuffled();
  for (size_t i = 0; i + 1 < kFirstPassReads; ++i) {
    EXPECT_TRUE(Open(&expert, pass1[i]).empty()) << "too few reads for a set in progress";
  }
  for (size_t i = kFirstPassReads - 1; i < pass1.size(); ++i) {
    Open(&expert, pass1[i]);
  }
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

// A small directory read through once (a build's first compile of a header tree): a quarter of
// it makes a set in progress (never fewer than 8 reads), once the directory is tracked at all,
// which takes min_opens_to_track (8) opens within 15 s: the read after the 8th proposes.
TEST_F(EpochExpertTest, ASmallDirectorysFirstPassIsProposedAfterAQuarterOfIt) {
  for (auto [members, expected] : {std::pair<size_t, size_t>{80, 20}, {40, 10}, {12, 9}, {8, 0}}) {
    KeyTable keys(10'000);
    testing::FakeNames names;
    AccessMaker make(&keys);
    std::vector<std::string> dir;
    for (size_t i = 0; i < members; ++i) {
      dir.push_back("inc" + std::to_string(members) + "/h" + std::to_string(i) + ".h");
      names.Add(dir.back(), 8192);
    }
    std::shuffle(dir.begin(), dir.end(), rng_);
    EpochExpert expert(options_, &keys, &names);
    size_t first = 0;
    for (size_t i = 0; first == 0 && i < members; ++i) {
      std::vector<Candidate> out;
      expert.Observe(make.Open(dir[i], "cc1plus", ++t_), &out);
      if (!out.empty()) first = i + 1;
    }
    EXPECT_EQ(first, expected) << members << " members";
  }
}

// The mount lists a directory in the background and answers Unavailable until it has: the opens
// that made the directory hot still count in its first pass once the listing is there.
TEST_F(EpochExpertTest, AListingNotThereYetLosesNoneOfTheOpens) {
  names_.unavailable_calls = 1;
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  size_t first = 0;
  for (size_t i = 0; first == 0 && i < order.size(); ++i) {
    if (!Open(&expert, order[i]).empty()) first = i + 1;
  }
  EXPECT_EQ(names_.calls, 2) << "asked again at the next open";
  // Listed at the 9th open with all its opens counted: no read later than without the wait.
  EXPECT_EQ(first, kFirstPassReads);
}

// A build reads a header every few milliseconds: a listing being fetched is asked for again at
// the directory's next open, within the same second, and those asks cost no listing budget
// (here a burst of 16 and nothing more for the test's length).
TEST_F(EpochExpertTest, APendingListingIsAskedForAgainAtTheNextOpenForFree) {
  names_.unavailable_calls = 20;
  options_.listings_per_second = 0.001;
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  size_t first = 0;
  for (size_t i = 0; first == 0 && i < order.size(); ++i) {
    std::vector<Candidate> out;
    expert.Observe(make_.Open(order[i], "cc1plus", t_), &out);  // all in one second
    if (!out.empty()) first = i + 1;
  }
  EXPECT_EQ(names_.calls, 21);
  // Listed at the 28th open; the heat kept the last 16 of them; 9 more make the quarter.
  EXPECT_EQ(first, 37u);
}

// A data set's first epoch: once enough distinct members were read (and few twice), the rest of
// the set is proposed, with a confidence that grows with what was read.
TEST_F(EpochExpertTest, ASetInProgressIsProposedInItsFirstPass) {
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  std::set<std::string> read, proposed;
  size_t again = 0;
  for (size_t i = 0; i < 60; ++i) {
    read.insert(order[i]);
    std::vector<Candidate> out = Open(&expert, order[i]);
    if (i + 1 < kFirstPassReads) {
      EXPECT_TRUE(out.empty()) << i;
    }
    for (const std::string& name : testing::Names(keys_, out)) {
      EXPECT_EQ(read.count(name), 0u) << name << " was read in this pass";
      again += !proposed.insert(name).second;
    }
  }
  EXPECT_GE(proposed.size(), 30u);
  EXPECT_GT(again, 0u) << "proposed again as the confidence grew";
  const double at60 = expert.Score(keys_.Intern(order[99]), At(t_));
  EXPECT_GT(at60, 0.9) << "60 / (60 + 4)";
  EXPECT_LE(at60, 0.95);
  EXPECT_EQ(expert.Score(keys_.Intern(order[0]), At(t_)), 0.0) << "read in this pass";
}

// A member of a shuffled pass is read any time until the pass ends: Within says how long the
// pass needs for what it has left (here one read a second), so that a prediction of the member
// waits so long for its label.
TEST_F(EpochExpertTest, AProposalWaitsForTheRestOfThePass) {
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  std::vector<int64_t> within;  // of each read's proposals
  for (size_t i = 0; i < 90; ++i) {
    std::vector<Candidate> out = Open(&expert, order[i]);
    if (out.empty()) continue;
    for (const Candidate& c : out) {
      EXPECT_EQ(expert.Within(c.key, At(t_)), expert.Within(out[0].key, At(t_)));
    }
    within.push_back(expert.Within(out[0].key, At(t_)).count());
    const double left = 100.0 - static_cast<double>(i + 1);
    EXPECT_NEAR(static_cast<double>(within.back()), left, 3.0) << "read " << i;
  }
  EXPECT_EQ(expert.Within(keys_.Intern(order[0]), At(t_)).count(), 0) << "read: not scored";
  ASSERT_GE(within.size(), 2u);
  EXPECT_LT(within.back(), within.front()) << "the pass has less left";
}

// Once every unread member was proposed, they are proposed again a little later: a proposal the
// planner or the prefetch queue refused would otherwise never be made again in this pass.
TEST_F(EpochExpertTest, AllProposedAreProposedAgainLater) {
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> pass1 = Shuffled();
  for (const std::string& name : pass1) Open(&expert, name);  // a first pass
  const std::vector<std::string> pass2 = Shuffled();
  std::map<std::string, int> times;
  std::set<std::string> read;
  for (size_t i = 0; i < 20; ++i) {
    read.insert(pass2[i]);
    for (const std::string& name : testing::Names(keys_, Open(&expert, pass2[i]))) {
      EXPECT_EQ(read.count(name), 0u) << name << " was read in this pass";
      ++times[name];
    }
  }
  // 16 a read: all unread members proposed within the first 7 reads (a second apart), and again
  // 2 s after the sweep ended.
  EXPECT_GE(times.size(), 90u) << "the unread ones";
  int again = 0;
  for (const auto& [name, n] : times) again += n > 1;
  EXPECT_GE(again, 70);
  const int most = std::max_element(times.begin(), times.end(), [](const auto& a, const auto& b) {
                     return a.second < b.second;
                   })->second;
  EXPECT_LE(most, 5) << "once per sweep, a sweep every few seconds, not every read";
}

// Members proposed at a low score are proposed again as the score grows, even when they filled
// `ahead`: the planner may have refused them all.
TEST_F(EpochExpertTest, AGrowingScoreProposesAgainEvenWhenAheadIsFull) {
  options_.ahead = options_.max_candidates;
  EpochExpert expert(options_, &keys_, &names_);
  std::vector<std::string> order = files_;
  std::sort(order.rbegin(), order.rend());  // proposals go the other way: none is read here
  size_t proposing_reads = 0;
  for (size_t i = 0; i < 60; ++i) proposing_reads += !Open(&expert, order[i]).empty();
  EXPECT_GE(proposing_reads, 2u) << "proposed at 32 reads, and again as the score grew";
}

// A working set read over and over is not a set in progress, and re-reads end one.
TEST_F(EpochExpertTest, ReReadsAreNoSetInProgress) {
  EpochExpert expert(options_, &keys_, &names_);
  const std::vector<std::string> order = Shuffled();
  for (size_t i = 0; i < 50; ++i) {
    EXPECT_TRUE(Open(&expert, order[i]).empty()) << i;
    EXPECT_TRUE(Open(&expert, order[i / 2]).empty()) << "re-read " << i / 2;
  }
  EXPECT_EQ(expert.Score(keys_.Intern(order[90]), At(t_)), 0.0);

  EpochExpert other(options_, &keys_, &names_);
  for (size_t i = 0; i < 80; ++i) Open(&other, order[i]);
  EXPECT_GT(other.Score(keys_.Intern(order[90]), At(t_)), 0.0);
  // Most of the set, then re-reads: a partial pass is not an epoch.
  for (size_t i = 0; i < 40; ++i) Open(&other, order[i]);
  EXPECT_EQ(other.Score(keys_.Intern(order[90]), At(t_)), 0.0);
}

// In a first pass, large members are not proposed: the set is being read through, but which
// bytes of a large file a reader wants (a columnar file's footer and a few chunks) is unknown.
TEST_F(EpochExpertTest, AFirstPassProposesNoLargeMember) {
  testing::FakeNames big;
  std::vector<std::string> tables;
  tables.reserve(100);
  for (int i = 0; i < 100; ++i) {
    tables.push_back("table/part-" + std::to_string(i) + ".parquet");
    big.Add(tables.back(), 4 << 20);
  }
  std::shuffle(tables.begin(), tables.end(), rng_);
  EpochExpert expert(options_, &keys_, &big);
  for (const std::string& t : tables) EXPECT_TRUE(Open(&expert, t).empty()) << t;
  // After a full pass the set is known to be read whole, large members too.
  EXPECT_FALSE(Open(&expert, tables[0]).empty());
}

// A query engine reads each file's footer, then a few column chunks: the members' tails are
// proposed, already in the first pass, and in the next passes whose opens the page cache serves
// (no reads), never the 4 MiB files whole.
TEST_F(EpochExpertTest, MembersOpenedAtTheirTailsHaveTheirTailsProposed) {
  testing::FakeNames big;
  std::vector<std::string> tables;
  constexpr uint64_t kSize = 4 << 20, kFooter = 64 << 10;
  for (int i = 0; i < 100; ++i) {
    tables.push_back("table/part-" + std::to_string(i) + ".parquet");
    big.Add(tables.back(), kSize);
  }
  std::shuffle(tables.begin(), tables.end(), rng_);
  EpochExpert expert(options_, &keys_, &big);
  std::vector<Candidate> proposed;
  auto open = [&](const std::string& t, uint64_t offset, uint64_t length) {
    std::vector<Candidate> out;
    expert.Observe(make_.Open(t, "duckdb", ++t_, kSize, offset, length), &out);
    proposed.insert(proposed.end(), out.begin(), out.end());
  };
  for (const std::string& t : tables) open(t, kSize - kFooter, kFooter);
  ASSERT_FALSE(proposed.empty()) << "a set in progress, its tails known";
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& t : tables) open(t, 0, 0);
  }
  ASSERT_GT(proposed.size(), 100u);
  for (const Candidate& c : proposed) {
    EXPECT_EQ(c.offset, kSize - kFooter) << keys_.Name(c.key);
    EXPECT_EQ(c.length, kFooter);
  }
  // Members read from their start again (a full scan) are proposed from their start.
  for (const std::string& t : tables) open(t, 0, 1 << 20);
  proposed.clear();
  for (size_t i = 0; i < tables.size() / 2; ++i) open(tables[i], 0, 1 << 20);
  ASSERT_FALSE(proposed.empty());
  EXPECT_EQ(proposed.back().offset, 0u);
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
  gone.reserve(50);
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

// The read shape persists (a remounted query engine's first pass proposes footers at once); a
// state of version 1, without it, loads with the passes and learns the shape again.
TEST_F(EpochExpertTest, SaveLoadKeepsTheReadShapeAndLoadsVersionOne) {
  testing::FakeNames big;
  constexpr uint64_t kSize = 4 << 20, kFooter = 64 << 10;
  std::vector<std::string> tables;
  for (int i = 0; i < 40; ++i) {
    tables.push_back("table/part-" + std::to_string(i) + ".parquet");
    big.Add(tables.back(), kSize);
  }
  EpochExpert expert(options_, &keys_, &big);
  std::vector<Candidate> out;
  for (const std::string& t : tables) {
    expert.Observe(make_.Open(t, "duckdb", ++t_, kSize, kSize - kFooter, kFooter), &out);
  }
  KeyTable other(10'000);
  EpochExpert loaded(options_, &other, &big);
  ASSERT_TRUE(testing::RoundTrip(expert, keys_, &loaded, &other).ok());
  AccessMaker make(&other);
  out.clear();
  for (const std::string& t : tables)
    loaded.Observe(make.Open(t, "duckdb", ++t_, kSize, 0, 0), &out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].offset, kSize - kFooter);

  experts::BlobWriter v1("shadowfs.predict.epoch", 1);
  v1.PutVar(1);
  v1.PutStr("table/");
  v1.PutVar(2);         // passes
  v1.PutI64(t_ - 100);  // pass start
  v1.PutI64(50);        // the last pass's seconds
  v1.PutVar(1);         // read in this pass
  v1.PutStr("part-0.parquet");
  EpochExpert old(options_, &other, &big);
  EXPECT_TRUE(
      old.Load(std::move(v1).Finish(), [&](std::string_view n) { return other.Intern(n); }).ok());
}

}  // namespace
}  // namespace shadowfs::predict
