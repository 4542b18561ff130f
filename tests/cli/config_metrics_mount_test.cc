// A real mount configured from a --config file and scraped over its --metrics-addr, as an
// operator would: the file's values take effect (seen through the metrics and the mount's
// errors), flags and -o override them, and reads show up as shadow hits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "blobstore/base/unique_fd.h"
#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using ::testing::HasSubstr;

// A port nothing listens on right now (the kernel's pick, released for the mount to take).
uint16_t FreePort() {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// GET /metrics as curl would, parsed into series -> value ({} if the server did not answer).
std::map<std::string, double> Scrape(uint16_t port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return {};
  std::string request = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return {};
  std::string response;
  char buf[8192];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) response.append(buf, n);
  std::map<std::string, double> samples;
  if (!response.starts_with("HTTP/1.1 200 OK")) return samples;
  std::istringstream lines(response.substr(response.find("\r\n\r\n") + 4));
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  return samples;
}

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
    // Each open reads through FUSE until the shadow is complete and serves the reads.
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
