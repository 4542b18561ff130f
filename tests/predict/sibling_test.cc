#include "predict/experts/sibling.h"

#include <gtest/gtest.h>

#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;

class SiblingExpertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 20; ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "tbl/part-%05d.parquet", i);
      names_.Add(name, 1000 + i, "\"etag" + std::to_string(i) + "\"");
      names_.Add("logs/run" + std::to_string(i) + ".log");  // unpadded: natural order matters
    }
    names_.Add("tbl/sub/part-99999.parquet");  // in a subdirectory: not a member
  }
  std::vector<Candidate> Open(const std::string& key, int64_t t) {
    std::vector<Candidate> out;
    expert_.Observe(make_.Open(key, "spark", t), &out);
    return out;
  }

  KeyTable keys_{1000};
  testing::FakeNames names_;
  AccessMaker make_{&keys_};
  SiblingExpert expert_{SiblingExpert::Options{}, &keys_, &names_};
};

TEST_F(SiblingExpertTest, ProposesTheNextMembersAfterConsecutiveReads) {
  EXPECT_TRUE(Open("tbl/part-00005.parquet", 1).empty());
  EXPECT_TRUE(Open("tbl/part-00006.parquet", 2).empty());  // one pair may be chance
  const auto out = Open("tbl/part-00007.parquet", 3);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(keys_.Name(out[0].key), "tbl/part-00008.parquet");
  EXPECT_EQ(keys_.Name(out[7].key), "tbl/part-00015.parquet");
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i].score, out[i - 1].score);
  // Listed members carry their size and ETag for the planner.
  const KeyTable::Object* o = keys_.object(out[0].key);
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->size, 1008u);
  EXPECT_EQ(keys_.etag(out[0].key), "\"etag8\"");
  EXPECT_GT(expert_.Score(out[0].key, testing::At(4)), 0.5);
  // A longer run is more confident.
  const auto later = Open("tbl/part-00008.parquet", 4);
  ASSERT_FALSE(later.empty());
  EXPECT_GT(later[0].score, out[0].score);
  EXPECT_EQ(keys_.Name(later.back().key), "tbl/part-00016.parquet");
}

// A job that opens a file every 10 s has its proposals expected at that pace: the file three
// ahead in 30 s (its prediction is judged then, not as a miss after a few seconds).
TEST_F(SiblingExpertTest, ProposalsAreExpectedAtTheRunsPace) {
  Open("tbl/part-00005.parquet", 100);
  Open("tbl/part-00006.parquet", 110);
  const auto out = Open("tbl/part-00007.parquet", 120);
  ASSERT_EQ(out.size(), 8u);
  for (size_t k = 0; k < out.size(); ++k) {
    EXPECT_EQ(out[k].expected_read, testing::At(120 + 10 * static_cast<int64_t>(k + 1)))
        << keys_.Name(out[k].key);
  }
}

// The listing is asked for at the first pair, so that a mount (which lists in the background)
// has it by the second, when the run proposes.
TEST_F(SiblingExpertTest, ListsTheDirectoryOnePairBeforeProposing) {
  Open("tbl/part-00005.parquet", 1);
  EXPECT_EQ(names_.calls, 0);
  Open("tbl/part-00006.parquet", 2);
  EXPECT_EQ(names_.calls, 1);
  EXPECT_EQ(Open("tbl/part-00007.parquet", 3).size(), 8u);
  EXPECT_EQ(names_.calls, 1);
}

// On a mount the listing is made in the background: a run whose proposal finds it still being
// made proposes when it arrives (Listed), not one open later. Not if another open came since,
// nor for a directory nobody waits on.
TEST_F(SiblingExpertTest, AProposalThatWaitedForTheListingIsMadeWhenItArrives) {
  // The listing asked for at the first pair is still being made at the second.
  names_.unavailable_calls = 2;
  Open("tbl/part-00005.parquet", 1);
  Open("tbl/part-00006.parquet", 2);
  EXPECT_TRUE(Open("tbl/part-00007.parquet", 3).empty());
  std::vector<Candidate> out;
  expert_.Listed("logs/", testing::At(3), &out);
  EXPECT_TRUE(out.empty());
  expert_.Listed("tbl/", testing::At(3), &out);
  ASSERT_EQ(out.size(), 8u);
  EXPECT_EQ(keys_.Name(out[0].key), "tbl/part-00008.parquet");
  out.clear();
  expert_.Listed("tbl/", testing::At(3), &out);  // proposed once
  EXPECT_TRUE(out.empty());

  names_.unavailable_calls = names_.calls + 2;
  Open("logs/run1.log", 10);
  Open("logs/run2.log", 11);
  EXPECT_TRUE(Open("logs/run3.log", 12).empty());
  Open("logs/run9.log", 13);  // the reader moved on before the listing came
  expert_.Listed("logs/", testing::At(13), &out);
  EXPECT_TRUE(out.empty());
}

// A nightly job reads its date partition in order: from the first open of the next night's
// partition, the rest of it is proposed, as confidently as last night's run was long. A
// partition read in another order, or opened elsewhere than at its first member, is not.
TEST(SiblingExpertPartitionTest, ThePartitionAfterOneReadInOrderIsProposedFromItsFirstOpen) {
  testing::FakeNames names;
  for (const char* date : {"2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04"}) {
    for (int p = 0; p < 6; ++p) {
      names.Add(std::string("etl/date=") + date + "/part-0000" + std::to_string(p) + ".parquet");
    }
  }
  KeyTable keys(1000);
  AccessMaker make(&keys);
  SiblingExpert expert(SiblingExpert::Options{}, &keys, &names);
  auto open = [&](const std::string& date, int part, int64_t t) {
    std::vector<Candidate> out;
    expert.Observe(make.Open("etl/date=" + date + "/part-0000" + std::to_string(part) + ".parquet",
                             "etl-job", t),
                   &out);
    return out;
  };
  EXPECT_TRUE(open("2026-01-01", 0, 1000).empty());
  for (int p = 1; p < 6; ++p) open("2026-01-01", p, 1000 + 5 * p);
  // The night's run is kept across a restart (the mount saves the model and loads it again).
  const std::string saved = expert.Save([&](KeyId id) { return keys.Name(id); });
  SiblingExpert restarted(SiblingExpert::Options{}, &keys, &names);
  ASSERT_TRUE(restarted.Load(saved, [&](std::string_view k) { return keys.Intern(k); }).ok());
  std::vector<Candidate> after_restart;
  restarted.Observe(make.Open("etl/date=2026-01-02/part-00000.parquet", "etl-job", 87400),
                    &after_restart);
  EXPECT_EQ(after_restart.size(), 5u);
  // A state saved before partition runs were kept (version 1: its header only) loads empty.
  std::string v1 = experts::BlobWriter("shadowfs.predict.sibling", 1).Finish();
  EXPECT_TRUE(restarted.Load(v1, [&](std::string_view k) { return keys.Intern(k); }).ok());
  // The next night: its first open proposes the rest, at 5 s apart, above the two-pair score.
  const auto next = open("2026-01-02", 0, 87400);
  ASSERT_EQ(testing::Names(keys, next),
            (std::vector<std::string>{
                "etl/date=2026-01-02/part-00001.parquet", "etl/date=2026-01-02/part-00002.parquet",
                "etl/date=2026-01-02/part-00003.parquet", "etl/date=2026-01-02/part-00004.parquet",
                "etl/date=2026-01-02/part-00005.parquet"}));
  EXPECT_GT(next[0].score, 0.8);
  EXPECT_EQ(next[0].expected_read, testing::At(87405));
  // That night the job reads two files only, and not from the first: nothing carries over.
  open("2026-01-02", 3, 87500);
  open("2026-01-02", 4, 87505);
  EXPECT_TRUE(open("2026-01-03", 0, 173800).empty());
  // Opened first at another member than the first, a partition is not proposed either.
  for (int p = 0; p < 6; ++p) open("2026-01-03", p, 173810 + p);
  EXPECT_TRUE(open("2026-01-04", 2, 260200).empty());
}

// The next night's first open comes before its partition is listed (a mount lists in the
// background): the carried run is proposed when the listing arrives.
TEST(SiblingExpertPartitionTest, ACarriedRunWhoseListingIsBeingMadeIsProposedWhenItArrives) {
  testing::FakeNames names;
  for (const char* date : {"2026-01-01", "2026-01-02"}) {
    for (int p = 0; p < 6; ++p) {
      names.Add(std::string("etl/date=") + date + "/part-0000" + std::to_string(p) + ".parquet");
    }
  }
  KeyTable keys(1000);
  AccessMaker make(&keys);
  SiblingExpert expert(SiblingExpert::Options{}, &keys, &names);
  std::vector<Candidate> out;
  for (int p = 0; p < 6; ++p) {
    expert.Observe(make.Open("etl/date=2026-01-01/part-0000" + std::to_string(p) + ".parquet",
                             "etl-job", 1000 + 5 * p),
                   &out);
  }
  names.unavailable_calls = names.calls + 1;
  out.clear();
  expert.Observe(make.Open("etl/date=2026-01-02/part-00000.parquet", "etl-job", 87400), &out);
  EXPECT_TRUE(out.empty());
  expert.Listed("etl/date=2026-01-02/", testing::At(87400), &out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(keys.Name(out[0].key), "etl/date=2026-01-02/part-00001.parquet");
  EXPECT_GT(out[0].score, 0.8);
}

TEST_F(SiblingExpertTest, NumericRunsCompareAsNumbers) {
  Open("logs/run8.log", 1);
  Open("logs/run9.log", 2);
  const auto out = Open("logs/run10.log", 3);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(keys_.Name(out[0].key), "logs/run11.log");
}

TEST_F(SiblingExpertTest, EndOfDirectoryAndNonMembers) {
  Open("tbl/part-00017.parquet", 1);
  Open("tbl/part-00018.parquet", 2);
  const auto out = Open("tbl/part-00019.parquet", 3);
  EXPECT_TRUE(out.empty());  // nothing after the last member; subdirectories are not members
}

// grep -r or find: the end of one numbered directory leads into the next one.
TEST_F(SiblingExpertTest, AScanGoesOnIntoTheNextNumberedDirectory) {
  for (int f = 0; f < 4; ++f) names_.Add("src/mod009/file" + std::to_string(f) + ".c");
  for (int f = 0; f < 10; ++f) names_.Add("src/mod010/file" + std::to_string(f) + ".c");
  Open("src/mod009/file0.c", 1);
  Open("src/mod009/file1.c", 2);
  const auto out = Open("src/mod009/file2.c", 3);
  EXPECT_EQ(
      testing::Names(keys_, out),
      (std::vector<std::string>{"src/mod009/file3.c", "src/mod010/file0.c", "src/mod010/file1.c",
                                "src/mod010/file2.c", "src/mod010/file3.c", "src/mod010/file4.c",
                                "src/mod010/file5.c", "src/mod010/file6.c"}));
  for (size_t i = 1; i < out.size(); ++i) EXPECT_LT(out[i].score, out[i - 1].score);
  // The first open in mod010/ after the last member of mod009/ carries the run on: its members
  // are proposed at once, more confidently than a run of two.
  EXPECT_EQ(testing::Names(keys_, Open("src/mod009/file3.c", 4)).front(), "src/mod010/file0.c");
  const auto carried = Open("src/mod010/file0.c", 5);
  ASSERT_EQ(carried.size(), 8u);
  EXPECT_EQ(keys_.Name(carried[0].key), "src/mod010/file1.c");
  EXPECT_GT(carried[0].score, out[0].score);
  // Without a next directory (mod011/ does not exist) the run just ends.
  Open("src/mod010/file7.c", 10);
  Open("src/mod010/file8.c", 11);
  EXPECT_TRUE(Open("src/mod010/file9.c", 12).empty());
}

// The end of a nightly partition does not lead into the next day's: that is the periodic model's.
TEST_F(SiblingExpertTest, ADateNamedDirectoryLeadsNowhere) {
  for (int p = 0; p < 4; ++p) {
    names_.Add("etl/date=2026-01-01/part-" + std::to_string(p));
    names_.Add("etl/date=2026-01-02/part-" + std::to_string(p));
  }
  Open("etl/date=2026-01-01/part-1", 1);
  Open("etl/date=2026-01-01/part-2", 2);
  EXPECT_TRUE(Open("etl/date=2026-01-01/part-3", 3).empty());
}

// A directory entered elsewhere than at its first member, or long after, starts a run afresh.
TEST_F(SiblingExpertTest, OnlyTheFirstMemberSoonAfterCarriesARunOn) {
  for (const char* top : {"a", "b"}) {
    for (int f = 0; f < 3; ++f) names_.Add(std::string(top) + "/d1/f" + std::to_string(f));
    for (int f = 0; f < 5; ++f) names_.Add(std::string(top) + "/d2/f" + std::to_string(f));
  }
  for (int f = 0; f < 3; ++f) Open("a/d1/f" + std::to_string(f), f);
  EXPECT_TRUE(Open("a/d2/f2", 4).empty());
  for (int f = 0; f < 3; ++f) Open("b/d1/f" + std::to_string(f), 10 + f);
  EXPECT_TRUE(Open("b/d2/f0", 100).empty()) << "a minute later: not the same scan";
}

TEST(SiblingExpertUtilTest, NextNumberedDir) {
  using experts::NextNumberedDir;
  EXPECT_EQ(NextNumberedDir("src/mod009/"), "src/mod010/");
  EXPECT_EQ(NextNumberedDir("t/part-99/"), "t/part-100/");
  EXPECT_EQ(NextNumberedDir("shard7-of-9x/"), "shard7-of-10x/");  // the last digit run
  EXPECT_EQ(NextNumberedDir("v1/logs/"), std::nullopt);           // only the last component counts
  EXPECT_EQ(NextNumberedDir(""), std::nullopt);
  EXPECT_EQ(NextNumberedDir("nodigits/"), std::nullopt);
}

// The mount's view lists in the background and answers Unavailable meanwhile: asking again for
// a listing under way costs none of the listing budget (16 at once, then 4 a second).
TEST(SiblingExpertSlowNamesTest, AskingAgainForAListingUnderWayIsFree) {
  class SlowNames final : public NamespaceView {
   public:
    base::Result<std::vector<ObjectInfo>> ListDirectory(std::string_view dir,
                                                        size_t limit) override {
      if (++asks <= 30) return base::Status::Unavailable("being listed");
      return names.ListDirectory(dir, limit);
    }
    testing::FakeNames names;
    int asks = 0;
  };
  SlowNames slow;
  for (int i = 0; i < 40; ++i) slow.names.Add("t/f" + std::to_string(i));
  KeyTable keys(1000);
  testing::AccessMaker make(&keys);
  SiblingExpert expert(SiblingExpert::Options{}, &keys, &slow);
  std::vector<Candidate> out;
  for (int i = 0; i < 35; ++i) {  // all within one second: no budget comes back
    out.clear();
    expert.Observe(make.Open("t/f" + std::to_string(i), "grep", 1), &out);
  }
  EXPECT_GT(slow.asks, 30);
  EXPECT_EQ(expert.list_calls(), 1u);
  EXPECT_EQ(testing::Names(keys, out).front(), "t/f35");
}

TEST_F(SiblingExpertTest, RandomOrDescendingReadsProposeNothing) {
  for (int i : {9, 3, 14, 2, 11, 7, 1, 19, 4}) {
    char name[64];
    std::snprintf(name, sizeof(name), "tbl/part-%05d.parquet", i);
    EXPECT_TRUE(Open(name, i).empty());
  }
  for (int i = 15; i > 5; --i)
    EXPECT_TRUE(Open("logs/run" + std::to_string(i) + ".log", i).empty());
}

TEST_F(SiblingExpertTest, ListsADirectoryOnceWithinTheTtl) {
  for (int i = 0; i < 20; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "tbl/part-%05d.parquet", i);
    Open(name, 100 + i);
  }
  EXPECT_EQ(names_.calls, 1);
  EXPECT_EQ(expert_.list_calls(), 1u);
  Open("tbl/part-00000.parquet", 1000);
  Open("tbl/part-00001.parquet", 1001);
  Open("tbl/part-00002.parquet", 1002);
  EXPECT_EQ(names_.calls, 2);  // the TTL passed
}

TEST(SiblingExpertNoNamesTest, StaysQuietWithoutANamespaceView) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SiblingExpert expert(SiblingExpert::Options{}, &keys, nullptr);
  std::vector<Candidate> out;
  for (int i = 0; i < 5; ++i) expert.Observe(make.Open("d/f" + std::to_string(i), "p", i), &out);
  EXPECT_TRUE(out.empty());
}

TEST_F(SiblingExpertTest, ForgetAndRoundTrip) {
  Open("tbl/part-00001.parquet", 1);
  Open("tbl/part-00002.parquet", 2);
  ASSERT_FALSE(Open("tbl/part-00003.parquet", 3).empty());
  expert_.Forget({keys_.Intern("tbl/part-00003.parquet")});
  EXPECT_TRUE(Open("tbl/part-00004.parquet", 4).empty());  // the run is gone with the key
  KeyTable other(100);
  SiblingExpert loaded(SiblingExpert::Options{}, &other, &names_);
  EXPECT_TRUE(testing::RoundTrip(expert_, keys_, &loaded, &other).ok());
  EXPECT_EQ(loaded.Load("", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
