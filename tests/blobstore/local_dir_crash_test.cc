// LocalDirBlobStore under crashes and a full disk: after a Put stopped at any point, a reopened
// store shows the old or the new object, each with its own ETag and metadata, and no leftovers.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "blobstore/base/digest.h"
#include "blobstore/local_dir_blob_store.h"
#include "blobstore/local_dir_sidecar.h"
#include "tests/blobstore/local_dir_test_util.h"

namespace shadowfs::blobstore::testing {
namespace {

namespace fs = std::filesystem;
using CrashPoint = LocalDirBlobStore::CrashPoint;

class LocalDirCrashTest : public LocalDirFixture {
 protected:
  std::string SidecarPath(const std::string& key) const {
    std::string hash = base::Sha256Hex(key);
    return Path(".shadowfs/meta/" + hash.substr(0, 2) + "/" + hash.substr(2) + ".json");
  }
  std::vector<localdir::SidecarRecord> Records(const std::string& key) const {
    return localdir::SidecarStore::Decode(key, ReadFile(SidecarPath(key)));
  }
  size_t TempFiles() const { return CountEntries(Path(".shadowfs/tmp")); }

  // Puts v1 with m1, then a v2 with m2 that "crashes" at `point`.
  void PutThenCrash(CrashPoint point) {
    ASSERT_TRUE(PutString(store(), "dir/k", "old contents", {.metadata = m1_}).ok());
    store().SetCrashPointForTesting(point);
    auto crashed = PutString(store(), "dir/k", "new contents, longer", {.metadata = m2_});
    ASSERT_FALSE(crashed.ok());
    EXPECT_NE(crashed.status().message().find("simulated crash"), std::string::npos);
  }
  void ExpectObject(const std::string& data, const UserMetadata& metadata) {
    auto head = store().Head("dir/k");
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    EXPECT_EQ(head->etag, base::Md5Hex(data));
    EXPECT_EQ(head->size, data.size());
    EXPECT_EQ(head->metadata, metadata);
    EXPECT_EQ(*GetString(store(), "dir/k"), data);
  }

  const UserMetadata m1_ = {{"mode", "33188"}, {"mtime", "1"}};
  const UserMetadata m2_ = {{"mode", "33261"}, {"mtime", "2"}};
};

TEST_F(LocalDirCrashTest, CrashWhileStagingKeepsOldObjectAndCleansTemp) {
  PutThenCrash(CrashPoint::kAfterStaging);
  EXPECT_EQ(TempFiles(), 1u);
  ExpectObject("old contents", m1_);  // even before the restart
  Reopen();
  EXPECT_EQ(TempFiles(), 0u);
  ExpectObject("old contents", m1_);
}

TEST_F(LocalDirCrashTest, CrashBeforeRenameKeepsOldObjectWithItsOwnRecord) {
  PutThenCrash(CrashPoint::kAfterSidecar);
  // What a crash leaves: the new data in tmp/, and a sidecar naming both inodes.
  EXPECT_EQ(TempFiles(), 1u);
  auto records = Records("dir/k");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].etag, base::Md5Hex("old contents"));
  EXPECT_EQ(records[1].etag, base::Md5Hex("new contents, longer"));
  Reopen();
  EXPECT_EQ(TempFiles(), 0u);
  ExpectObject("old contents", m1_);
  // The next Put goes through and leaves one record.
  ASSERT_TRUE(PutString(store(), "dir/k", "third", {.metadata = m2_}).ok());
  ExpectObject("third", m2_);
  EXPECT_EQ(Records("dir/k").size(), 1u);
}

TEST_F(LocalDirCrashTest, CrashAfterRenameShowsNewObjectWithItsOwnRecord) {
  PutThenCrash(CrashPoint::kAfterRename);
  EXPECT_EQ(TempFiles(), 0u);
  EXPECT_EQ(Records("dir/k").size(), 2u);
  Reopen();
  ExpectObject("new contents, longer", m2_);
}

TEST_F(LocalDirCrashTest, CrashCreatingANewKeyLeavesNothingVisible) {
  store().SetCrashPointForTesting(CrashPoint::kAfterSidecar);
  ASSERT_FALSE(PutString(store(), "fresh/deep/key", "x").ok());
  Reopen();
  EXPECT_TRUE(store().Head("fresh/deep/key").status().IsNotFound());
  // The implicit directories it made are not objects and go with the next Delete below them.
  EXPECT_TRUE(ListKeys(store()).empty());
  ASSERT_TRUE(PutString(store(), "fresh/deep/key", "x").ok());
  ASSERT_TRUE(store().Delete("fresh/deep/key").ok());
  EXPECT_FALSE(fs::exists(Path("fresh")));
}

TEST_F(LocalDirCrashTest, HandMadeCrashStateResolvesByInode) {
  // The state a crash between sidecar and rename leaves, laid out by hand with a foreign layout:
  // the old record is for the live file, the other for an inode that no longer exists.
  WriteFile(Path("k"), "live");
  struct stat st;
  ASSERT_EQ(::stat(Path("k").c_str(), &st), 0);
  localdir::SidecarRecord live, gone;
  live.ino = st.st_ino;
  live.size = st.st_size;
  live.mtime_ns = localdir::MtimeNs(st);
  live.ctime_ns = localdir::CtimeNs(st);
  live.etag = base::Md5Hex("live");
  live.metadata = m1_;
  gone = live;
  gone.ino = st.st_ino + 1000003;
  gone.etag = base::Md5Hex("never renamed in");
  gone.metadata = m2_;
  auto text = localdir::SidecarStore::Encode("k", {gone, live});
  ASSERT_TRUE(text.ok());
  WriteFile(SidecarPath("k"), *text);
  WriteFile(Path(".shadowfs/tmp/12-abc-3.put"), "never renamed in");
  Reopen();
  EXPECT_EQ(TempFiles(), 0u);
  auto head = store().Head("k");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, base::Md5Hex("live"));
  EXPECT_EQ(head->metadata, m1_);
}

TEST_F(LocalDirCrashTest, CorruptSidecarCostsOnlyTheMetadata) {
  ASSERT_TRUE(PutString(store(), "k", "data", {.metadata = m1_}).ok());
  WriteFile(SidecarPath("k"), "{\"version\": 1, \"key\": \"k\", \"recor");
  auto head = store().Head("k");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->etag, base::Md5Hex("data"));
  EXPECT_TRUE(head->metadata.empty());
}

TEST_F(LocalDirCrashTest, TempFilesOfAStoreStillOpenAreNotRemoved) {
  store().SetCrashPointForTesting(CrashPoint::kAfterStaging);
  ASSERT_FALSE(PutString(store(), "k", "in flight").ok());
  ASSERT_EQ(TempFiles(), 1u);
  {
    auto second = LocalDirBlobStore::Open(dir_.path(), &clock_);
    ASSERT_TRUE(second.ok());
    EXPECT_EQ(TempFiles(), 1u);  // the first store might still be writing it
  }
  Reopen();  // now the only one
  EXPECT_EQ(TempFiles(), 0u);
}

// Mounts a 1 MiB tmpfs for the test and always unmounts it.
class SmallTmpfs {
 public:
  SmallTmpfs() {
    if (dir_.path().empty()) return;
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=1m") == 0;
    if (!mounted_) error_ = std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  std::string error_;
};

TEST(LocalDirFullDiskTest, FullDiskFailsWithNoSpaceAndKeepsTheOldObject) {
  SmallTmpfs tmpfs;
  if (!tmpfs.mounted()) {
    GTEST_SKIP() << "cannot mount a small tmpfs (" << tmpfs.error()
                 << "); run as root to test a full disk";
  }
  base::SystemClock clock;
  auto opened = LocalDirBlobStore::Open(tmpfs.path(), &clock);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto& store = **opened;
  const std::string old_data(100 * 1024, 'o');
  const UserMetadata metadata = {{"mode", "33188"}};
  ASSERT_TRUE(PutString(store, "dir/k", old_data, {.metadata = metadata}).ok());

  const std::string big(2 * 1024 * 1024, 'n');
  auto put = PutString(store, "dir/k", big);
  EXPECT_EQ(put.status().code(), base::StatusCode::kNoSpace) << put.status().ToString();
  auto fresh = PutString(store, "new/deep/key", big);
  EXPECT_EQ(fresh.status().code(), base::StatusCode::kNoSpace) << fresh.status().ToString();

  EXPECT_EQ(CountEntries(tmpfs.path() + "/.shadowfs/tmp"), 0u);
  EXPECT_FALSE(fs::exists(tmpfs.path() + "/new"));
  auto head = store.Head("dir/k");
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->etag, base::Md5Hex(old_data));
  EXPECT_EQ(head->metadata, metadata);
  EXPECT_TRUE(*GetString(store, "dir/k") == old_data);
  // And the store works again once there is room.
  ASSERT_TRUE(store.Delete("dir/k").ok());
  EXPECT_TRUE(PutString(store, "dir/k", std::string(512 * 1024, 'x')).ok());
  opened->reset();
}

}  // namespace
}  // namespace shadowfs::blobstore::testing
