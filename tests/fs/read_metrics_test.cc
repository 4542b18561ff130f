// The read path's metrics through the FileSystem: every read is counted once, by where its bytes
// came from (a shadow, the primary, or data staged by a writer), in the counters and the latency
// histogram a Prometheus scrape shows.
#include "fs/read_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/fs/fs_fixture.h"

namespace shadowfs::fs {
namespace {

class ReadMetricsTest : public FsFixture {
 protected:
  // Opens `name` in the root, reads it whole in one read, closes it.
  std::string ReadOnce(const std::string& name) {
    auto e = fs_->Lookup(kRootInode, name);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return "";
    auto h = fs_->Open(e->attr.ino, O_RDONLY, caller_);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    if (!h.ok()) return "";
    std::string out(1 << 16, '\0');
    auto n = fs_->Read(h->handle, 0, out);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    out.resize(n.ok() ? *n : 0);
    EXPECT_TRUE(fs_->Release(h->handle).ok());
    return out;
  }
  // The value of one sample line of the export ("name{labels} value"), -1 if absent.
  double Sample(const std::string& series) {
    std::string text = rt_.metrics().ExportPrometheus();
    size_t at = text.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + series.size() + 2));
  }
};

TEST_F(ReadMetricsTest, CountsPrimaryThenShadowReads) {
  ASSERT_TRUE(blobstore::PutString(mem_, "f", "hello metrics").ok());
  EXPECT_EQ(Sample("shadowfs_primary_reads_total"), 0);
  EXPECT_EQ(ReadOnce("f"), "hello metrics");
  EXPECT_EQ(Sample("shadowfs_primary_reads_total"), 1);
  EXPECT_EQ(Sample("shadowfs_shadow_hits_total"), 0);
  EXPECT_EQ(Sample("shadowfs_read_bytes_total{source=\"primary\"}"), 13);
  EXPECT_EQ(Sample("shadowfs_read_latency_seconds_count{source=\"primary\"}"), 1);

  // The first read filled a shadow (read-through): the second is served from it.
  ASSERT_TRUE(WaitForShadow("f"));
  EXPECT_EQ(ReadOnce("f"), "hello metrics");
  EXPECT_EQ(Sample("shadowfs_shadow_hits_total"), 1);
  EXPECT_EQ(Sample("shadowfs_primary_reads_total"), 1);
  EXPECT_EQ(Sample("shadowfs_read_bytes_total{source=\"shadow\"}"), 13);
  EXPECT_EQ(Sample("shadowfs_read_latency_seconds_count{source=\"shadow\"}"), 1);
  EXPECT_EQ(Sample("shadowfs_read_latency_seconds_bucket{source=\"shadow\",le=\"+Inf\"}"), 1);
  EXPECT_EQ(Sample("shadowfs_read_latency_seconds_count{source=\"staged\"}"), 0);

  FileSystem::Stats stats = fs_->stats();
  EXPECT_EQ(stats.reads_from_shadow, 1u);
  EXPECT_EQ(stats.reads_from_primary, 1u);
}

TEST_F(ReadMetricsTest, ReadsOfStagedWritesAreStagedAndEndOfFileIsNotARead) {
  auto c = fs_->Create(kRootInode, "new", 0644, O_RDWR | O_CREAT, caller_);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(fs_->Write(c->second.handle, 0, "staged").ok());
  std::string out(64, '\0');
  auto n = fs_->Read(c->second.handle, 0, out);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 6u);
  n = fs_->Read(c->second.handle, 6, out);  // at the end: nothing was read
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  EXPECT_TRUE(fs_->Release(c->second.handle).ok());
  EXPECT_EQ(Sample("shadowfs_read_latency_seconds_count{source=\"staged\"}"), 1);
  EXPECT_EQ(Sample("shadowfs_read_bytes_total{source=\"staged\"}"), 6);
  EXPECT_EQ(Sample("shadowfs_primary_reads_total"), 0);
  EXPECT_EQ(Sample("shadowfs_shadow_hits_total"), 0);
}

}  // namespace
}  // namespace shadowfs::fs
