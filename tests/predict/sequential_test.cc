#include "predict/experts/sequential.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "predict/experts/all.h"
#include "tests/predict/expert_test_util.h"

namespace shadowfs::predict {
namespace {

using testing::AccessMaker;
using testing::At;

constexpr uint64_t kMiB = 1 << 20;

SequentialExpert::Options Opts() {
  SequentialExpert::Options o;
  o.initial = 1 * kMiB;
  o.max = 8 * kMiB;
  return o;
}

// An open the page cache serves (length 0) reads no range: no stream, nothing proposed, and the
// stream of the reads that follow starts as it would without it.
TEST(SequentialExpertTest, AnOpenServedFromThePageCacheStartsNoStream) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SequentialExpert expert(Opts(), &keys);
  std::vector<Candidate> out;
  for (int i = 0; i < 8; ++i) expert.Observe(make.Open("big.bin", "cat", i, 64 * kMiB, 0, 0), &out);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(expert.Score(make.Open("big.bin", "cat", 9, 64 * kMiB, 0, 0).key, At(9)), 0.0);
}

TEST(SequentialExpertTest, ProposesTheNextWindowAndDoublesIt) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SequentialExpert expert(Opts(), &keys);
  const uint64_t size = 1024 * kMiB;
  std::vector<Candidate> out;
  std::vector<uint64_t> windows;
  uint64_t ahead = 0;
  for (uint64_t off = 0; off < 64 * kMiB; off += 128 << 10) {
    out.clear();
    Access a = off == 0 ? make.Open("big.bin", "cat", 1, size, 0, 128 << 10)
                        : make.Read("big.bin", "cat", 1, size, off, 128 << 10);
    expert.Observe(a, &out);
    for (const Candidate& c : out) {
      EXPECT_EQ(c.key, a.key);                                  // never another file
      EXPECT_EQ(c.offset, std::max(ahead, off + (128 << 10)));  // contiguous, no overlap
      EXPECT_GT(c.score, 0.0);
      EXPECT_LE(c.score, 1.0);
      ahead = c.offset + c.length;
      windows.push_back(c.offset + c.length - (off + (128 << 10)));
    }
    EXPECT_GT(ahead, off + (128 << 10));  // the reader never catches up with the proposals
  }
  ASSERT_GE(windows.size(), 5u);
  // The window grows from the initial size to the maximum and stays there.
  EXPECT_LE(windows.front(), 1 * kMiB);
  EXPECT_EQ(windows.back(), 8 * kMiB);
  EXPECT_TRUE(std::is_sorted(windows.begin(), windows.end()));
  EXPECT_GT(expert.Score(keys.Intern("big.bin"), At(2)), 0.5);
}

TEST(SequentialExpertTest, RandomReadResetsTheWindow) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SequentialExpert expert(Opts(), &keys);
  const uint64_t size = 1024 * kMiB;
  std::vector<Candidate> out;
  expert.Observe(make.Open("f", "p", 1, size, 0, kMiB), &out);
  for (uint64_t off = kMiB; off < 40 * kMiB; off += kMiB) {
    expert.Observe(make.Read("f", "p", 1, size, off, kMiB), &out);
  }
  out.clear();
  expert.Observe(make.Read("f", "p", 1, size, 500 * kMiB, kMiB), &out);
  EXPECT_TRUE(out.empty());  // a jump is not sequential
  out.clear();
  expert.Observe(make.Read("f", "p", 1, size, 501 * kMiB, kMiB), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset, 502 * kMiB);
  EXPECT_EQ(out[0].length, 1 * kMiB);  // back to the initial window
}

TEST(SequentialExpertTest, NothingPastTheEndOrForWholeFileReads) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SequentialExpert expert(Opts(), &keys);
  std::vector<Candidate> out;
  expert.Observe(make.Open("small", "p", 1, 4096, 0, 4096), &out);
  EXPECT_TRUE(out.empty());
  expert.Observe(make.Open("mid", "p", 1, 3 * kMiB / 2, 0, kMiB), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].offset + out[0].length, 3 * kMiB / 2);  // clipped to the object
}

TEST(SequentialExpertTest, StreamsArePerProcess) {
  KeyTable keys(100);
  AccessMaker make(&keys);
  SequentialExpert expert(Opts(), &keys);
  std::vector<Candidate> out;
  const uint64_t size = 100 * kMiB;
  expert.Observe(make.Open("f", "a", 1, size, 0, kMiB), &out);
  out.clear();
  // Another process reading far into the same file does not break a's stream.
  expert.Observe(make.Open("f", "b", 1, size, 70 * kMiB, kMiB), &out);
  EXPECT_TRUE(out.empty());
  expert.Observe(make.Read("f", "a", 1, size, kMiB, kMiB), &out);
  expert.Observe(make.Read("f", "a", 1, size, 2 * kMiB, kMiB), &out);
  ASSERT_FALSE(out.empty());
  EXPECT_LT(out.back().offset, 70 * kMiB);
}

// A scan of many files once each, in no particular order, reading large files sequentially and
// small ones whole: no expert proposes another file.
TEST(SequentialExpertTest, ScanMakesNoCrossFileProposal) {
  KeyTable keys(1'000'000);
  testing::FakeNames names;
  std::vector<std::string> files;
  for (int d = 0; d < 20; ++d) {
    for (int f = 0; f < 50; ++f) {
      files.push_back("scan/d" + std::to_string(d) + "/f" + std::to_string(f));
      names.Add(files.back(), f % 5 == 0 ? 8 * kMiB : 4096);
    }
  }
  std::mt19937 rng(7);
  std::shuffle(files.begin(), files.end(), rng);
  AccessMaker make(&keys);
  auto experts = MakeExperts(ExpertsOptions{}, &keys, &names);
  int64_t t = 1'700'000'000;
  std::set<std::string> proposers;
  for (const std::string& file : files) {
    const bool big = std::stoi(file.substr(file.rfind('f') + 1)) % 5 == 0;
    const uint64_t size = big ? 8 * kMiB : 4096;
    for (uint64_t off = 0; off < size; off += big ? kMiB : 4096) {
      const Access a = off == 0 ? make.Open(file, "tar", t, size, 0, big ? kMiB : 4096)
                                : make.Read(file, "tar", t, size, off, kMiB);
      for (auto& e : experts) {
        std::vector<Candidate> out;
        e->Observe(a, &out);
        for (const Candidate& c : out) {
          EXPECT_EQ(c.key, a.key) << e->name() << " proposed " << keys.Name(c.key);
          proposers.insert(std::string(e->name()));
        }
      }
    }
    ++t;
    for (auto& e : experts) {
      std::vector<Candidate> out;
      e->Tick(At(t), &out);
      EXPECT_TRUE(out.empty()) << e->name();
    }
  }
  EXPECT_EQ(proposers, std::set<std::string>{"sequential"});
}

TEST(SequentialExpertTest, SaveLoadRoundTripAndCorruption) {
  KeyTable keys(100), other(100);
  SequentialExpert a(Opts(), &keys), b(Opts(), &other);
  EXPECT_TRUE(testing::RoundTrip(a, keys, &b, &other).ok());
  EXPECT_EQ(b.Load("garbage", [&](std::string_view n) { return other.Intern(n); }).code(),
            base::StatusCode::kCorruption);
}

}  // namespace
}  // namespace shadowfs::predict
