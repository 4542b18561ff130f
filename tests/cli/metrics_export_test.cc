// The metrics endpoint (a real HTTP exchange over loopback) and the node_exporter textfile.
#include "cli/metrics_export.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "blobstore/base/runtime.h"
#include "blobstore/base/unique_fd.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

base::UniqueFd Connect(uint16_t port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

// Sends `request` and returns everything the server sent until it closed.
std::string Exchange(uint16_t port, const std::string& request) {
  base::UniqueFd fd = Connect(port);
  EXPECT_EQ(::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string Get(uint16_t port, const std::string& path, const std::string& method = "GET") {
  return Exchange(port, method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

class MetricsServerTest : public ::testing::Test {
 protected:
  base::OwnedRuntime rt_{base::OwnedRuntime::Time::kSystem};
};

TEST(LoopbackAddressTest, AcceptsLoopbackOnly) {
  EXPECT_TRUE(ParseLoopbackAddress("127.0.0.1:9464").ok());
  EXPECT_TRUE(ParseLoopbackAddress("127.1.2.3:0").ok());
  EXPECT_TRUE(ParseLoopbackAddress("[::1]:9464").ok());
  EXPECT_TRUE(ParseLoopbackAddress("localhost:9464").ok());
  for (const char* bad : {"0.0.0.0:9464", "192.168.1.10:9464", "[::]:9464", "[2001:db8::1]:80"}) {
    auto r = ParseLoopbackAddress(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr("loopback address only")) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr(bad));
  }
  for (const char* bad : {"9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", "host:1"}) {
    EXPECT_FALSE(ParseLoopbackAddress(bad).ok()) << bad;
  }
}

TEST_F(MetricsServerTest, RefusesANonLoopbackAddress) {
  auto server = MetricsServer::Start("0.0.0.0:0", rt_.runtime());
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(server.status().message(), HasSubstr("loopback"));
}

TEST_F(MetricsServerTest, ServesThePrometheusTextFormat) {
  rt_.metrics().GetCounter("shadowfs_test_things_total", "Things", {{"kind", "a"}}).Increment(42);
  rt_.metrics().GetGauge("shadowfs_test_level", "Level").Set(2.5);
  auto server = MetricsServer::Start("127.0.0.1:0", rt_.runtime());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  ASSERT_NE((*server)->port(), 0);

  std::string response = Get((*server)->port(), "/metrics");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK\r\n"));
  EXPECT_THAT(response, HasSubstr("Content-Type: text/plain; version=0.0.4"));
  size_t body_at = response.find("\r\n\r\n");
  ASSERT_NE(body_at, std::string::npos);
  std::string body = response.substr(body_at + 4);
  EXPECT_THAT(response, HasSubstr("Content-Length: " + std::to_string(body.size()) + "\r\n"));
  // Parse the samples: "name{labels} value" lines after # HELP / # TYPE.
  std::map<std::string, double> samples;
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    samples[line.substr(0, sp)] = std::stod(line.substr(sp + 1));
  }
  EXPECT_EQ(samples["shadowfs_test_things_total{kind=\"a\"}"], 42);
  EXPECT_EQ(samples["shadowfs_test_level"], 2.5);
  EXPECT_THAT(body, HasSubstr("# TYPE shadowfs_test_things_total counter\n"));

  // A query string is fine; HEAD has the headers only.
  EXPECT_THAT(Get((*server)->port(), "/metrics?x=1"), StartsWith("HTTP/1.1 200 OK"));
  std::string head = Get((*server)->port(), "/metrics", "HEAD");
  EXPECT_THAT(head, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_EQ(head.substr(head.find("\r\n\r\n") + 4), "");
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAndBadRequests) {
  auto server = MetricsServer::Start("127.0.0.1:0", rt_.runtime());
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  uint16_t port = (*server)->port();
  EXPECT_THAT(Get(port, "/"), StartsWith("HTTP/1.1 404 "));
  EXPECT_THAT(Get(port, "/metricsx"), StartsWith("HTTP/1.1 404 "));
  std::string post = Get(port, "/metrics", "POST");
  EXPECT_THAT(post, StartsWith("HTTP/1.1 405 "));
  EXPECT_THAT(post, HasSubstr("Allow: GET, HEAD\r\n"));
  EXPECT_THAT(Exchange(port, "nonsense\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  // A request head that never ends is cut off at the bound, not read forever.
  std::string huge = "GET /metrics HTTP/1.1\r\nX: " + std::string(64 << 10, 'a');
  EXPECT_THAT(Exchange(port, huge), StartsWith("HTTP/1.1 431 "));
  // And the server still answers.
  EXPECT_THAT(Get(port, "/metrics"), StartsWith("HTTP/1.1 200 OK"));
}

TEST_F(MetricsServerTest, AStalledClientTimesOutAndStopDoesNotWaitForIt) {
  MetricsServer::Options options;
  options.request_timeout = std::chrono::milliseconds(200);
  auto server = MetricsServer::Start("127.0.0.1:0", rt_.runtime(), options);
  ASSERT_TRUE(server.ok());
  base::UniqueFd stalled = Connect((*server)->port());  // sends nothing
  // The next client is answered once the stalled one timed out.
  EXPECT_THAT(Get((*server)->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK"));
  base::UniqueFd another = Connect((*server)->port());
  server->reset();  // returns although a client is connected (the test would hang otherwise)
}

TEST_F(MetricsServerTest, CollectorsRunBeforeEachExportUntilRemoved) {
  base::Gauge& g = rt_.metrics().GetGauge("shadowfs_test_collected", "Collected");
  int runs = 0;
  uint64_t id = rt_.metrics().AddCollector([&] { g.Set(++runs); });
  EXPECT_THAT(rt_.metrics().ExportPrometheus(), HasSubstr("shadowfs_test_collected 1\n"));
  EXPECT_THAT(rt_.metrics().ExportPrometheus(), HasSubstr("shadowfs_test_collected 2\n"));
  rt_.metrics().RemoveCollector(id);
  EXPECT_THAT(rt_.metrics().ExportPrometheus(), HasSubstr("shadowfs_test_collected 2\n"));
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST_F(MetricsServerTest, TextfileIsWrittenAtStartPeriodicallyAndAtExit) {
  testing::TempDir dir("textfile");
  std::string path = dir.File("shadowfs.prom");
  base::Counter& c = rt_.metrics().GetCounter("shadowfs_test_ticks_total", "Ticks");
  auto file = MetricsTextfile::Start(path, std::chrono::milliseconds(20), rt_.runtime());
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_THAT(Slurp(path), HasSubstr("shadowfs_test_ticks_total 0\n"));
  c.Increment(5);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Slurp(path).find("shadowfs_test_ticks_total 5\n") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_THAT(Slurp(path), HasSubstr("shadowfs_test_ticks_total 5\n"));
  c.Increment(2);
  file->reset();  // the last values are written at exit
  EXPECT_THAT(Slurp(path), HasSubstr("shadowfs_test_ticks_total 7\n"));
  // Only the file itself: no temporary files left behind.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"shadowfs.prom"});
}

TEST_F(MetricsServerTest, TextfileReadersNeverSeeAPartialFile) {
  testing::TempDir dir("textfile");
  std::string path = dir.File("shadowfs.prom");
  // Large enough that a write in place would be seen half done.
  for (int i = 0; i < 2000; ++i) {
    rt_.metrics().GetCounter("shadowfs_test_many_total", "Many", {{"i", std::to_string(i)}});
  }
  rt_.metrics().GetGauge("shadowfs_zz_last", "Sorted last").Set(1);
  auto file = MetricsTextfile::Start(path, std::chrono::milliseconds(1), rt_.runtime());
  ASSERT_TRUE(file.ok());
  std::string full = rt_.metrics().ExportPrometheus();
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(Slurp(path), full) << "read " << i;
  }
}

TEST_F(MetricsServerTest, TextfileInAMissingDirectoryIsAnErrorNamingIt) {
  auto file =
      MetricsTextfile::Start("/nonexistent-dir/x.prom", std::chrono::seconds(15), rt_.runtime());
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("/nonexistent-dir/x.prom"));
}

TEST_F(MetricsServerTest, MetricsExportServesAndRunsItsCollector) {
  testing::TempDir dir("export");
  base::Gauge& g = rt_.metrics().GetGauge("shadowfs_test_collected", "Collected");
  auto e = MetricsExport::Start({.address = "127.0.0.1:0", .textfile = dir.File("m.prom")},
                                rt_.runtime(), [&g] { g.Set(7); });
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_THAT(Get((*e)->port(), "/metrics"), HasSubstr("shadowfs_test_collected 7\n"));
  EXPECT_THAT(Slurp(dir.File("m.prom")), HasSubstr("shadowfs_test_collected 7\n"));
  e->reset();
  g.Set(1);
  EXPECT_THAT(rt_.metrics().ExportPrometheus(), HasSubstr("shadowfs_test_collected 1\n"));

  auto refused = MetricsExport::Start({.address = "10.1.2.3:9"}, rt_.runtime(), nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("loopback"));
}

}  // namespace
}  // namespace shadowfs::cli
