// A real mount configured from a --config file and scraped over its --metrics-addr, as an
// operator would: the file's values take effect (seen through the metrics and the mount's
// errors), flags and -o override them, and reads show up as shadow hits.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <thread>
#include <vector>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using ::testing::HasSubstr;

CommandResult Shadowfs(std::vector<std::string> args) {
  args.insert(args.begin(), ShadowfsBinary());
  return RunCommand(args, {}, std::chrono::seconds(120));
}

std::string WriteConfig(const MountDirs& dirs, const std::string& text) {
  std::string path = dirs.root.File("shadowfs.toml");
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigMetricsMountTest, ConfigFileAndMetricsEndpointOfARealMount) {
  MountDirs dirs;
  ASSERT_EQ(WriteFile(dirs.primary + "/data", Pattern(300 << 10)), 0);
  uint16_t port = FreePort();
  std::string config = WriteConfig(dirs,
                                   "cache-size = \"1G\"\n[mount]\ncache-size = \"3G\"\n"
                                   "metrics-addr = \"127.0.0.1:" +
                                       std::to_string(port) + "\"\n");
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs({"--config", config}), dirs.log);
  ASSERT_TRUE(mount.Start());
  std::map<std::string, double> m = Scrape(port);
  ASSERT_FALSE(m.empty()) << mount.Log();
  // [mount] beats the top level.
  EXPECT_EQ(m["shadowfs_shadow_store_capacity_bytes"], 3.0 * (1ull << 30));
  EXPECT_EQ(m["shadowfs_pending_uploads"], 0);

  // The first read comes from the primary and fills the shadow; later reads are hits.
  EXPECT_TRUE(SameBytes(ReadFile(dirs.mnt + "/data"), Pattern(300 << 10)));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Scrape(port)["shadowfs_shadow_hits_total"] == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    // A later open keeps the kernel's page cache (the version is unchanged), which would serve
    // the reads without asking shadowfs: drop it, so that they reach the shadow once complete.
    DropKernelPageCache(dirs.mnt + "/data");
    EXPECT_TRUE(SameBytes(ReadFile(dirs.mnt + "/data"), Pattern(300 << 10)));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  m = Scrape(port);
  EXPECT_GT(m["shadowfs_shadow_hits_total"], 0) << mount.Log();
  EXPECT_GT(m["shadowfs_primary_reads_total"], 0);
  EXPECT_GT(m["shadowfs_read_bytes_total{source=\"primary\"}"], 0);
  EXPECT_GT(m["shadowfs_read_latency_seconds_count{source=\"shadow\"}"], 0);
  EXPECT_TRUE(mount.Unmount());
}

// fs/lookup_reads.h on a real mount: once the mount has seen that `cat` reads the files it
// looks up, its lookups GET the files (in their HEAD's round trip) and the reads need no request.
TEST(ConfigMetricsMountTest, LookupsOfAProcessThatReadsWhatItLooksUpFetchTheFile) {
  MountDirs dirs;
  std::vector<std::string> paths;
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    std::string data = Pattern(1000 + i, i);
    ASSERT_EQ(WriteFile(dirs.primary + "/f" + std::to_string(i), data), 0);
    paths.push_back(dirs.mnt + "/f" + std::to_string(i));
    expected += data;
  }
  uint16_t port = FreePort();
  // Without prediction: the sibling expert would prefetch f3... (names in order), and a
  // prefetched file's lookup needs no request at all, so it would not show the lookups' reads.
  ShadowfsMount mount(dirs.mnt,
                      dirs.MountArgs({"--metrics-addr", "127.0.0.1:" + std::to_string(port),
                                      "--prediction", "off"}),
                      dirs.log);
  ASSERT_TRUE(mount.Start());
  EXPECT_TRUE(SameBytes(CatEach(paths), expected));
  std::map<std::string, double> m = Scrape(port);
  // The first 8 lookups teach the mount; the other 12 read.
  EXPECT_GE(m["shadowfs_lookups_read_total"], 10) << mount.Log();
  EXPECT_TRUE(mount.Unmount());
}

// fs/fuse_init.h: the kernel sends the lookups of one directory in parallel (Debian 12's libfuse
// alone leaves FUSE_PARALLEL_DIROPS out and the kernel then sends them one at a time). Eight
// `stat`s of new names, each lookup 300 ms behind the primary's delay: some must overlap.
TEST(ConfigMetricsMountTest, TheKernelSendsADirectorysLookupsInParallel) {
  MountDirs dirs;
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(WriteFile(dirs.primary + "/f" + std::to_string(i), "x"), 0);
  }
  uint16_t port = FreePort();
  ShadowfsMount mount(dirs.mnt,
                      dirs.MountArgs({"--metrics-addr", "127.0.0.1:" + std::to_string(port),
                                      "--primary-latency-ms", "300"}),
                      dirs.log);
  ASSERT_TRUE(mount.Start());
  std::string script = "for i in 0 1 2 3 4 5 6 7; do stat \"$1/f$i\" >/dev/null & done; wait";
  CommandResult r = RunCommand({"/bin/sh", "-c", script, "sh", dirs.mnt});
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(Scrape(port)["shadowfs_fuse_lookups_in_flight_peak"], 2) << mount.Log();
  EXPECT_TRUE(mount.Unmount());
}

TEST(ConfigMetricsMountTest, FlagsAndDashOOverrideTheFile) {
  MountDirs dirs;
  uint16_t port = FreePort();
  // min-confidence 1.5 is refused when it is what the mount gets: proof the file is read.
  std::string config = WriteConfig(dirs, "[mount]\nmin-confidence = 1.5\ncache-size = \"3G\"\n");
  CommandResult r = Shadowfs(dirs.MountArgs({"--config", config}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("0 to 1"));

  ShadowfsMount mount(
      dirs.mnt,
      dirs.MountArgs({"--config", config, "--min-confidence", "0.5", "-o",
                      "cache-size=2G,metrics_addr=127.0.0.1:" + std::to_string(port)}),
      dirs.log);
  ASSERT_TRUE(mount.Start());
  EXPECT_EQ(Scrape(port)["shadowfs_shadow_store_capacity_bytes"], 2.0 * (1ull << 30))
      << mount.Log();
}

TEST(ConfigMetricsMountTest, BadConfigAndMetricsOptionsAreOneLineErrors) {
  MountDirs dirs;
  std::string config = WriteConfig(dirs, "[mount]\ncache-size = \"1G\n");
  CommandResult r = Shadowfs(dirs.MountArgs({"--config", config}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr(config + ":2:"));
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << r.output;

  config = WriteConfig(dirs, "[mount]\ncache-sise = \"1G\"\n");
  r = Shadowfs(dirs.MountArgs({"--config", config}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown option 'cache-sise'"));

  r = Shadowfs(dirs.MountArgs({"--metrics-addr", "0.0.0.0:9464"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("loopback address only"));
  // The benchmarks' hidden calendar options are checked like the others.
  for (const char* anchor : {"1767232800", "1767232800,x", "1,2,3", "-5,1767232800"}) {
    r = Shadowfs(dirs.MountArgs({"--time-scale", "1440", "--time-anchor", anchor}));
    EXPECT_EQ(r.exit_code, 2) << anchor;
    EXPECT_THAT(r.output, HasSubstr("bad --time-anchor")) << anchor;
  }
  r = Shadowfs({"reconcile", "--once", "--store", dirs.store, "file://" + dirs.primary,
                "--metrics-addr", "192.168.0.1:9464"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.output, HasSubstr("loopback address only"));
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
}

TEST(ConfigMetricsMountTest, ReconcileOnceWritesItsTextfile) {
  MountDirs dirs;
  std::string prom = dirs.root.File("reconcile.prom");
  std::string config = WriteConfig(dirs, "[reconcile]\nmetrics-textfile = \"" + prom + "\"\n");
  CommandResult r = Shadowfs(
      {"reconcile", "--config", config, "--once", "--store", dirs.store, "file://" + dirs.primary});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string text = ReadFile(prom);
  EXPECT_THAT(text, HasSubstr("\nshadowfs_reconcile_cycles_total 1\n"));
  EXPECT_THAT(text, HasSubstr("\nshadowfs_shadow_store_capacity_bytes 10737418240\n"));
}

}  // namespace
}  // namespace shadowfs::testing
