#include "predict/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "predict/access_log.h"
#include "predict/state_store.h"
#include "tests/predict/fake_expert.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::predict {
namespace {

using std::chrono::milliseconds;

constexpr uint64_t kSize = 256 << 10;

AccessEvent Open(const std::string& key, base::WallTime t) {
  AccessEvent e;
  e.key = std::make_shared<const std::string>(key);
  e.process_name = std::make_shared<const std::string>("trainer");
  e.etag = std::make_shared<const std::string>("\"" + key + "-v1\"");
  e.object_size = kSize;
  e.length = kSize;
  e.time = t;
  e.first_read = true;
  return e;
}

std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "data/set-%d/file-%04d", i / 100, i);
  return buf;
}

// 40 files read whole in a fixed order, 25 times, a second apart (a build's include chain).
std::vector<AccessEvent> Repeating() {
  std::vector<AccessEvent> events;
  base::WallTime t(std::chrono::seconds(1'700'000'000));
  std::mt19937 rng(5);
  std::vector<int> order(40);
  for (int i = 0; i < 40; ++i) order[i] = static_cast<int>(rng() % 1000);
  for (int pass = 0; pass < 25; ++pass) {
    for (int i : order) {
      t += milliseconds(1000);
      events.push_back(Open(Name(i), t));
    }
    t += std::chrono::seconds(30);
  }
  return events;
}

// Files picked uniformly at random from 5000: nothing to learn.
std::vector<AccessEvent> Random() {
  std::vector<AccessEvent> events;
  base::WallTime t(std::chrono::seconds(1'700'000'000));
  std::mt19937 rng(11);
  for (int i = 0; i < 2000; ++i) {
    t += milliseconds(500);
    events.push_back(Open(Name(static_cast<int>(rng() % 5000)), t));
  }
  return events;
}

// One pass over 1000 small files of one directory in a shuffled order, 100 a second (a training
// run's first epoch over a data set the mount has never seen).
std::vector<AccessEvent> ShuffledPass() {
  std::vector<AccessEvent> events;
  base::WallTime t(std::chrono::seconds(1'700'000'000));
  std::vector<int> order(1000);
  for (int i = 0; i < 1000; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  for (int i : order) {
    t += milliseconds(10);
    AccessEvent e = Open("train/shard-" + std::to_string(10000 + i), t);
    e.object_size = e.length = 16 << 10;
    events.push_back(std::move(e));
  }
  return events;
}

// By default the simulated store keeps what demand reads fetched, as the mount does, so a
// pattern over files that all fit needs no prefetching after its first pass. Without
// read-through every pass needs its files again: the prediction mechanism alone.
Accounting Replay(const std::vector<AccessEvent>& events, Engine::ExpertFactory experts,
                  bool read_through = true, bool list_directories = true) {
  ReplayOptions options;
  options.read_through = read_through;
  options.list_directories = list_directories;
  Replayer replayer(options, std::move(experts));
  // The simulated namespace knows the stream's objects from the start, as a log replay does.
  for (const auto& e : events) replayer.NoteObject(*e.key, e.object_size, *e.etag);
  for (const auto& e : events) EXPECT_TRUE(replayer.Feed(e).ok());
  auto a = replayer.Finish();
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? *a : Accounting{};
}

void Print(const char* what, const Accounting& a) {
  std::printf(
      "%s: prefetches %llu prefetched %llu useful %llu wasted %llu precision %.3f "
      "coverage %.3f timeliness %.3f calibration %.3f threshold %.2f demand %llu\n",
      what, static_cast<unsigned long long>(a.overall.prefetches),
      static_cast<unsigned long long>(a.overall.prefetched_bytes),
      static_cast<unsigned long long>(a.overall.useful_bytes),
      static_cast<unsigned long long>(a.overall.wasted_bytes), a.overall.precision(), a.coverage(),
      a.overall.timeliness(), a.calibration_error, a.threshold,
      static_cast<unsigned long long>(a.demand_bytes));
  for (const auto& e : a.experts) {
    if (e.prefetches == 0) continue;
    std::printf("  %s: prefetches %llu precision %.3f\n", e.expert.c_str(),
                static_cast<unsigned long long>(e.prefetches), e.precision());
  }
}

TEST(ReplayTest, RepeatingPatternIsPrefetchedPreciselyWithTheStandardExperts) {
  Accounting a = Replay(Repeating(), StandardExperts(EngineOptions{}), /*read_through=*/false);
  Print("repeating", a);
  EXPECT_EQ(a.demand_reads, 1000u);
  EXPECT_GE(a.overall.precision(), 0.85);
  EXPECT_GE(a.coverage(), 0.7);
  EXPECT_GE(a.overall.timeliness(), 0.9);
  EXPECT_LE(a.overall.wasted_bytes, a.demand_bytes * 15 / 100);
}

// With read-through, the passes after the first find their files in the store: nothing to fetch.
TEST(ReplayTest, ARepeatingPatternThatFitsInTheStoreNeedsNoPrefetching) {
  Accounting a = Replay(Repeating(), StandardExperts(EngineOptions{}));
  Print("repeating, read-through", a);
  EXPECT_EQ(a.demand_reads, 1000u);
  EXPECT_EQ(a.overall.wasted_bytes, 0u);
  EXPECT_LE(a.overall.prefetched_bytes, 40 * kSize) << "no file is fetched twice";
}

TEST(ReplayTest, RandomStreamPrefetchesLittleAndWastesLittle) {
  Accounting a = Replay(Random(), StandardExperts(EngineOptions{}));
  Print("random", a);
  EXPECT_EQ(a.demand_reads, 2000u);
  EXPECT_LE(a.overall.wasted_bytes, a.demand_bytes * 15 / 100);
}

// The replay's namespace lets the experts that list directories work offline: a shuffled first
// pass is a set in progress once a few dozen of its files were read, and its labels wait for
// the rest of the pass (a label window of the usual few seconds would teach the learner that
// such proposals are wrong, and coverage would stop short).
TEST(ReplayTest, AShuffledFirstPassIsCoveredThroughTheDirectorysListing) {
  Accounting listed = Replay(ShuffledPass(), StandardExperts(EngineOptions{}));
  Print("shuffled pass", listed);
  EXPECT_EQ(listed.demand_reads, 1000u);
  EXPECT_GE(listed.coverage(), 0.8);
  EXPECT_GE(listed.overall.precision(), 0.85);
  EXPECT_LE(listed.calibration_error, 0.25) << "0.42 when the labels came after the usual 8 s";

  Accounting unlisted = Replay(ShuffledPass(), StandardExperts(EngineOptions{}),
                               /*read_through=*/true, /*list_directories=*/false);
  Print("shuffled pass, no listings", unlisted);
  EXPECT_LE(unlisted.coverage(), 0.05) << "no pattern without the directory's members";
}

TEST(ReplayTest, RepeatingPatternWithASingleSuccessorModel) {
  Accounting a = Replay(Repeating(), fakes::MakeFakeExperts, /*read_through=*/false);
  Print("fake repeating", a);
  EXPECT_GE(a.overall.precision(), 0.85);
  EXPECT_GE(a.coverage(), 0.7);
}

TEST(ReplayTest, TrainFromALogSavesAStateThatPredicts) {
  testing::TempDir dir;
  {
    base::FakeClock clock;
    auto w = AccessLogWriter::Open(dir.File("access.log"), &clock);
    ASSERT_TRUE(w.ok());
    for (const auto& e : Repeating()) ASSERT_TRUE((*w)->Write(e).ok());
  }
  ReplayOptions options;
  options.engine.state_path = dir.File("predict.db");
  auto trained = ReplayAccessLog(dir.File("access.log"), options, fakes::MakeFakeExperts);
  ASSERT_TRUE(trained.ok()) << trained.status().ToString();
  EXPECT_EQ(trained->demand_reads, 1000u);
  auto state = LoadEngineState(dir.File("predict.db"));
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->experts.size(), 2u);  // the fake expert and the engine's read shapes
  EXPECT_EQ(state->experts[1].first, "read_shapes");
  EXPECT_FALSE(state->learner.empty());

  // An evaluation that starts from the trained state predicts from the first pass.
  Replayer eval(options, fakes::MakeFakeExperts);
  std::vector<AccessEvent> events = Repeating();
  events.resize(40);
  for (const auto& e : events) eval.NoteObject(*e.key, e.object_size);
  for (const auto& e : events) ASSERT_TRUE(eval.Feed(e).ok());
  auto a = eval.Finish();
  ASSERT_TRUE(a.ok());
  Print("after training", *a);
  EXPECT_GE(a->covered_reads, 30u);
}

TEST(ReplayTest, AMalformedLogLineStopsTheReplayWithItsLineNumber) {
  testing::TempDir dir;
  {
    std::ofstream out(dir.File("access.log"));
    out << FormatAccessLogLine(Open("a", base::WallTime(std::chrono::seconds(5)))) << "\n{oops\n";
  }
  auto a = ReplayAccessLog(dir.File("access.log"), ReplayOptions{}, fakes::MakeFakeExperts);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("access.log:2:"), std::string::npos) << a.status().message();
}

}  // namespace
}  // namespace shadowfs::predict
