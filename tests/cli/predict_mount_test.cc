// The prediction engine on a real mount (issue 5): with a slow primary, a pass over files in a
// fixed order teaches the engine the pattern; after every shadow is dropped, the next pass is
// served from shadows the engine prefetched before each read, as `shadowfs stats` shows. Also the
// access log and `shadowfs predict show|eval|train` on what the mount recorded. Needs root and
// /dev/fuse.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using Json = nlohmann::json;
constexpr int kFiles = 40;

CommandResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), ShadowfsBinary());
  return RunCommand(args);
}

Json CliJson(std::vector<std::string> args) {
  args.push_back("--json");
  CommandResult r = Cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  Json j = Json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

std::string Part(int i) {
  char name[32];
  std::snprintf(name, sizeof(name), "part-%05d", i);
  return name;
}

// Empties the kernel's page cache, which would answer reads of files read before without asking
// the mount (so the engine would not see them).
void DropKernelCaches() { std::ofstream("/proc/sys/vm/drop_caches") << "3\n"; }

// One pass: every file in order, as a job reading its inputs would. The pause between files is
// the job's own work; the engine prefetches the next file meanwhile.
void ReadPass(const std::string& dir) {
  DropKernelCaches();
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(ReadFile(dir + "/" + Part(i)), Pattern(64 << 10, i)) << Part(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }
}

TEST(PredictMountTest, ALearnedPassIsServedFromPrefetchedShadows) {
  MountDirs dirs;
  ASSERT_EQ(::mkdir((dirs.primary + "/job").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) {
    std::ofstream(dirs.primary + "/job/" + Part(i)) << Pattern(64 << 10, i);
  }
  const std::string log = dirs.root.path() + "/access.log";
  // A 20 ms primary; the calendar clock at 20x so that the engine's labels (tens of simulated
  // seconds after each prediction) arrive within the test.
  ShadowfsMount mount(
      dirs.mnt,
      dirs.MountArgs({"--primary-latency-ms", "20", "--time-scale", "20", "--access-log", log}),
      dirs.log);
  ASSERT_TRUE(mount.Start());
  const std::string job = dirs.mnt + "/job";

  // Learning: passes until the engine has labelled what it predicted (or a deadline).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
  Json prediction;
  int passes = 0;
  do {
    ReadPass(job);
    ++passes;
    // Labels come 30 to 80 simulated seconds (1.5 to 4 s here) after each prediction: wait for
    // this pass's, with a deadline.
    auto labelled = std::chrono::steady_clock::now() + std::chrono::seconds(8);
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      prediction = CliJson({"stats", dirs.mnt})["prediction"];
      ASSERT_TRUE(prediction.is_object()) << prediction.dump();
    } while (prediction["labelled_predictions"].get<uint64_t>() < uint64_t{kFiles} * passes &&
             std::chrono::steady_clock::now() < labelled);
  } while (prediction["labelled_predictions"].get<uint64_t>() < 2 * kFiles &&
           std::chrono::steady_clock::now() < deadline);
  ASSERT_GE(prediction["labelled_predictions"].get<uint64_t>(), uint64_t{kFiles})
      << "after " << passes << " passes: " << prediction.dump();

  // While the job runs, `predict show` names its next files, with the experts behind each.
  DropKernelCaches();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ReadFile(job + "/" + Part(i)), Pattern(64 << 10, i));
  // (The engine takes the read path's events within 5 to 200 ms.)
  Json top;
  auto show_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    top = CliJson({"predict", "show", job, "--limit", "5"});
    ASSERT_TRUE(top.is_array()) << top.dump();
    if (top.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (top.empty() && std::chrono::steady_clock::now() < show_deadline);
  ASSERT_FALSE(top.empty());
  EXPECT_EQ(top[0]["key"].get<std::string>().rfind("job/part-", 0), 0u) << top.dump();
  EXPECT_FALSE(top[0]["experts"].empty());

  // Forget every shadow: what the next pass finds in the store, the engine put there. (The reads
  // above made it prefetch the next files; one finishing after a drop is dropped again.)
  auto settle = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  Json left;
  do {
    CommandResult drop = Cli({"shadow", "drop", "--recursive", job});
    ASSERT_EQ(drop.exit_code, 0) << drop.output;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    left = CliJson({"shadow", "ls", job});
  } while (!left.empty() && std::chrono::steady_clock::now() < settle);
  ASSERT_TRUE(left.empty()) << left.dump();
  const uint64_t covered_before = prediction["covered_reads"].get<uint64_t>();
  const uint64_t reads_before = prediction["demand_reads"].get<uint64_t>();

  ReadPass(job);
  Json after;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {  // the engine takes the read path's events within 5 to 200 ms
    after = CliJson({"stats", dirs.mnt})["prediction"];
  } while (after["demand_reads"].get<uint64_t>() < reads_before + kFiles &&
           std::chrono::steady_clock::now() < until);
  const uint64_t covered = after["covered_reads"].get<uint64_t>() - covered_before;
  const uint64_t reads = after["demand_reads"].get<uint64_t>() - reads_before;
  ASSERT_GE(reads, uint64_t{kFiles});
  EXPECT_GE(covered * 2, reads) << "at least half of the pass came from prefetched shadows: "
                                << after.dump();
  int prefetched = 0;
  for (const Json& s : CliJson({"shadow", "ls", job})) {
    prefetched += s["origin"] == "prefetch";
  }
  EXPECT_GE(prefetched, kFiles / 2);
  EXPECT_GT(after["prefetches"].get<uint64_t>(), 0u);
  EXPECT_GT(after["precision"].get<double>(), 0.5) << after.dump();

  ASSERT_TRUE(mount.Unmount());

  // The access log recorded every read; eval replays it offline, train learns it into a store.
  std::ifstream in(log);
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    Json event = Json::parse(line, nullptr, false);
    ASSERT_FALSE(event.is_discarded()) << line;
    EXPECT_EQ(event["key"].get<std::string>().rfind("job/part-", 0), 0u);
    ++lines;
  }
  EXPECT_GE(lines, (passes + 1) * kFiles);
  Json eval = CliJson({"predict", "eval", "--log", log});
  EXPECT_EQ(eval["demand_reads"].get<int>(), lines);
  // The replay's store keeps what reads fetched, as the mount's does (it does not know of the
  // drop above): after the first pass every file is there, so nothing is fetched twice and
  // nothing is wasted, while the models still predict (and are labelled).
  EXPECT_GT(eval["labelled_predictions"].get<int>(), kFiles) << eval.dump();
  EXPECT_LE(eval["prefetched_bytes"].get<uint64_t>(), uint64_t{kFiles} * (64 << 10)) << eval.dump();
  EXPECT_EQ(eval["wasted_bytes"].get<uint64_t>(), 0u) << eval.dump();
  const std::string trained = dirs.root.path() + "/trained";
  Json train = CliJson({"predict", "train", "--log", log, "--store", trained});
  EXPECT_EQ(train["demand_reads"].get<int>(), lines);
  EXPECT_TRUE(std::ifstream(trained + "/predict.db").good());
  Json shown = CliJson({"predict", "show", "--store", trained});
  EXPECT_TRUE(shown.is_array());

  // Bad input: a clear line and a non-zero exit, never a crash.
  CommandResult missing = Cli({"predict", "eval", "--log", dirs.root.path() + "/nope"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.output.find("shadowfs predict eval: "), std::string::npos) << missing.output;
  std::ofstream(dirs.root.path() + "/bad.log") << "{\"t\": 1, \"key\": 3}\nnot json\n";
  CommandResult bad = Cli({"predict", "eval", "--log", dirs.root.path() + "/bad.log"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find(":1"), std::string::npos) << "names the line: " << bad.output;
  CommandResult horizon = Cli({"predict", "eval", "--log", log, "--horizon", "soon"});
  EXPECT_EQ(horizon.exit_code, 2) << horizon.output;
}

}  // namespace
}  // namespace shadowfs::testing
