// The operator commands against real mounts, over a local-directory primary and over the run's
// RADOS Gateway: shadow ls/show/pin/unpin/drop/create/verify, warmup, stats and status, in text
// and JSON (parsed and checked), and their bad-input errors. Needs root and /dev/fuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/blobstore/s3/rgw_test_env.h"
#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;

CommandResult Cli(std::vector<std::string> args) {
  args.insert(args.begin(), ShadowfsBinary());
  return RunCommand(args);
}

// Runs a data command with --json and parses its output.
Json CliJson(std::vector<std::string> args) {
  args.push_back("--json");
  CommandResult r = Cli(args);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  Json j = Json::parse(r.output, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.output;
  return j;
}

Json Find(const Json& ls, const std::string& path) {
  for (const Json& s : ls) {
    if (s.value("path", "") == path) return s;
  }
  return nullptr;
}

// The scenario every primary runs: `m` is the mount point of a running mount.
void ExerciseCommands(const std::string& m) {
  ASSERT_EQ(WriteFile(m + "/a.txt", "hello shadows"), 0);
  ASSERT_EQ(ReadFile(m + "/a.txt"), "hello shadows");
  ASSERT_EQ(::mkdir((m + "/dir").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(m + "/dir/one", Pattern(3 << 20, 1)), 0);
  ASSERT_EQ(WriteFile(m + "/dir/two", "two"), 0);

  // The written file has a shadow with a confidence.
  Json ls = CliJson({"shadow", "ls", m});
  Json a = Find(ls, "a.txt");
  ASSERT_TRUE(a.is_object()) << ls.dump();
  EXPECT_EQ(a.at("size"), 13);
  EXPECT_GT(a.at("confidence").get<double>(), 0.5);
  EXPECT_LE(a.at("confidence").get<double>(), 1.0);
  CommandResult text = Cli({"shadow", "ls", m});
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_THAT(text.output, HasSubstr("CONFIDENCE"));
  EXPECT_THAT(text.output, HasSubstr("a.txt"));

  // pin, unpin and drop change what ls shows.
  EXPECT_EQ(Cli({"shadow", "pin", m + "/a.txt"}).exit_code, 0);
  EXPECT_EQ(Find(CliJson({"shadow", "ls", m + "/a.txt"}), "a.txt").at("pinned"), true);
  EXPECT_EQ(Cli({"shadow", "unpin", m + "/a.txt"}).exit_code, 0);
  EXPECT_EQ(Find(CliJson({"shadow", "ls", m + "/a.txt"}), "a.txt").at("pinned"), false);
  EXPECT_EQ(Cli({"shadow", "drop", m + "/a.txt"}).exit_code, 0);
  EXPECT_TRUE(Find(CliJson({"shadow", "ls", m}), "a.txt").is_null());

  // warmup of a directory materializes it, origin manual.
  EXPECT_EQ(CliJson({"shadow", "drop", m + "/dir", "--recursive"}).at("dropped"), 2);
  CommandResult warm = Cli({"warmup", m + "/dir"});
  EXPECT_EQ(warm.exit_code, 0) << warm.output;
  EXPECT_THAT(warm.output, HasSubstr("2 of 2 files"));
  Json dir = CliJson({"shadow", "ls", m + "/dir"});
  ASSERT_EQ(dir.size(), 2u) << dir.dump();
  for (const Json& s : dir) {
    EXPECT_EQ(s.at("origin"), "manual");
    EXPECT_EQ(s.at("complete"), true);
  }
  // create with a TTL and a pin; show tells.
  EXPECT_EQ(Cli({"shadow", "create", m + "/a.txt", "--ttl", "2h", "--pin"}).exit_code, 0);
  Json show = CliJson({"shadow", "show", m + "/a.txt"});
  EXPECT_EQ(show.at("pinned"), true);
  EXPECT_TRUE(show.at("expires").is_string());
  EXPECT_EQ(show.at("origin"), "manual");

  // Reads from a shadow count as hits.
  // (warmup filled the store, not the kernel's page cache: this read reaches the mount.)
  ASSERT_EQ(ReadFile(m + "/dir/two"), "two");
  // The engine takes the read path's events within 5 to 200 ms: poll, with a deadline.
  Json stats;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  do {
    stats = CliJson({"stats", m});
    const auto prediction = stats.find("prediction");
    if (prediction != stats.end() && prediction->is_object() &&
        prediction->value("demand_reads", 0) > 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_GT(stats["reads"].at("from_shadow").get<int>(), 0) << stats.dump();
  EXPECT_TRUE(stats.at("hit_ratio").is_number());
  EXPECT_GT(stats["store"].at("used_bytes").get<int64_t>(), 0);
  // The prediction engine's accounting: what it saw of the reads.
  ASSERT_TRUE(stats.at("prediction").is_object()) << stats.dump();
  EXPECT_GT(stats["prediction"].at("demand_reads").get<int>(), 0) << stats.dump();
  EXPECT_TRUE(stats["prediction"].at("precision").is_number());
  CommandResult stats_text = Cli({"stats", m});
  EXPECT_THAT(stats_text.output, HasSubstr("hit ratio"));
  EXPECT_THAT(stats_text.output, HasSubstr("prediction       precision"));

  // verify finds everything current.
  Json verify = CliJson({"shadow", "verify", m});
  EXPECT_EQ(verify.at("versions_checked"), true);
  EXPECT_EQ(verify.at("stale_dropped"), 0);
  EXPECT_EQ(verify.at("current"), verify.at("shadows"));

  // status lists the mount, healthy.
  Json status = CliJson({"status"});
  bool listed = false;
  for (const Json& s : status) {
    if (s.value("mountpoint", "") != m) continue;
    listed = true;
    EXPECT_EQ(s.at("primary_reachable"), true);
    EXPECT_EQ(s.at("pending_uploads"), 0);
  }
  EXPECT_TRUE(listed) << status.dump();

  // Bad input: one line, non-zero.
  auto fails = [](std::vector<std::string> args, int code, const std::string& says) {
    CommandResult r = Cli(std::move(args));
    EXPECT_EQ(r.exit_code, code) << r.output;
    EXPECT_THAT(r.output, HasSubstr(says));
    // Usage errors add CLI11's "Run with --help" line.
    if (code == 1) {
      EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    }
  };
  fails({"shadow", "ls", "/proc"}, 1, "not inside a running shadowfs mount");
  fails({"shadow", "show", m + "/nothing"}, 1, "no shadow of 'nothing'");
  fails({"shadow", "pin", m + "/nothing"}, 1, "no shadow of 'nothing'");
  fails({"shadow", "drop", m + "/dir"}, 1, "--recursive");
  fails({"shadow", "create", m + "/a.txt", "--ttl", "2 hours"}, 2, "bad duration");
  fails({"shadow", "create", m + "/a.txt", "--valid-from", "soon"}, 2, "bad time");
  fails({"shadow", "create", m + "/nothing"}, 1, "no such file");
  fails({"warmup", m + "/nothing"}, 1, "no such file");
  fails({"warmup", "/proc"}, 1, "not inside a running shadowfs mount");
  fails({"stats", "/proc"}, 1, "not inside a running shadowfs mount");
  fails({"shadow", "ls", "--store", "/proc"}, 1, "not a shadowfs store");
  fails({"stats", m, "--watch", "0"}, 2, "--watch");
  fails({"shadow", "ls", m, "--bogus"}, 2, "--bogus");
}

TEST(ControlMountTest, CommandsOverALocalPrimary) {
  MountDirs dirs;
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs(), dirs.log);
  ASSERT_TRUE(mount.Start());
  ExerciseCommands(dirs.mnt);
  if (HasFailure()) std::cerr << mount.Log();

  // Offline: once unmounted, ls, show, verify and drop work on the store; create does not.
  ASSERT_TRUE(mount.Unmount());
  Json ls = CliJson({"shadow", "ls", "--store", dirs.store});
  EXPECT_FALSE(Find(ls, "dir/one").is_null()) << ls.dump();
  EXPECT_EQ(CliJson({"shadow", "show", "dir/one", "--store", dirs.store}).at("origin"), "manual");
  EXPECT_EQ(CliJson({"shadow", "verify", "--store", dirs.store}).at("versions_checked"), false);
  EXPECT_EQ(CliJson({"shadow", "drop", "dir/one", "--store", dirs.store}).at("dropped"), 1);
  EXPECT_TRUE(Find(CliJson({"shadow", "ls", "--store", dirs.store}), "dir/one").is_null());
  CommandResult create = Cli({"shadow", "create", "dir/one", "--store", dirs.store});
  EXPECT_EQ(create.exit_code, 1);
  EXPECT_THAT(create.output, HasSubstr("needs a running mount"));
  CommandResult status = Cli({"status", "--json"});
  EXPECT_THAT(status.output, ::testing::Not(HasSubstr(dirs.mnt)));
}

// --compress (also -o compress=): a compressible file's shadow is stored raw while the store
// has room (auto, the default), lz4 with always, raw with never; a bad value is refused.
TEST(ControlMountTest, CompressChoosesHowShadowsAreStored) {
  std::string text;
  while (text.size() < (2u << 20)) text += "a shadow of a compressible file, line after line. ";
  for (const std::string mode : {"auto", "always", "never"}) {
    MountDirs dirs;
    ASSERT_EQ(WriteFile(dirs.primary + "/t.txt", text), 0);
    ShadowfsMount mount(dirs.mnt, dirs.MountArgs({"-o", "compress=" + mode}), dirs.log);
    ASSERT_TRUE(mount.Start()) << mode;
    ASSERT_EQ(Cli({"shadow", "create", dirs.mnt + "/t.txt"}).exit_code, 0) << mode;
    const Json codecs = CliJson({"shadow", "show", dirs.mnt + "/t.txt"}).at("chunks_by_codec");
    if (mode == "always") {
      // Every whole chunk; the short last one may not be worth it.
      EXPECT_GE(codecs.at("lz4").get<int>(), 2) << codecs.dump();
      EXPECT_LE(codecs.at("none").get<int>(), 1) << codecs.dump();
    } else {
      EXPECT_EQ(codecs.at("lz4").get<int>(), 0) << mode << " " << codecs.dump();
      EXPECT_GT(codecs.at("none").get<int>(), 0) << mode << " " << codecs.dump();
    }
    EXPECT_EQ(ReadFile(dirs.mnt + "/t.txt"), text);
    EXPECT_TRUE(mount.Unmount());
  }
  MountDirs dirs;
  CommandResult bad = Cli(dirs.MountArgs({"--compress", "sometimes"}));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_THAT(bad.output, HasSubstr("bad --compress 'sometimes'"));
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
}

TEST(ControlMountTest, CommandsOverRgw) {
  auto env = LoadRgwEnv();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  auto bucket = s3::testing::ScratchBucket::Create(*env);
  ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
  MountDirs dirs;
  std::string url = "s3://" + (*bucket)->s3().config().bucket + "/top";
  ShadowfsMount mount(
      dirs.mnt,
      {"mount", url, dirs.mnt, "--foreground", "--store", dirs.store, "--endpoint", env->endpoint,
       "--region", env->region},
      dirs.log,
      {{"AWS_ACCESS_KEY_ID", env->access_key}, {"AWS_SECRET_ACCESS_KEY", env->secret_key}});
  ASSERT_TRUE(mount.Start());
  ExerciseCommands(dirs.mnt);
  // The keys carry the mount's prefix; paths are relative to the mount.
  Json a = CliJson({"shadow", "show", dirs.mnt + "/a.txt"});
  EXPECT_EQ(a.at("key"), "top/a.txt");
  EXPECT_EQ(a.at("path"), "a.txt");
  if (HasFailure()) std::cerr << mount.Log();
  EXPECT_TRUE(mount.Unmount());
}

}  // namespace
}  // namespace shadowfs::testing
