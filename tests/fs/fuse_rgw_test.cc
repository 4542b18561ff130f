// shadowfs mounted over a bucket of the test run's RADOS Gateway: operations through the kernel
// land as s3fs-compatible objects, bad buckets and credentials are clear errors, Debian's s3fs
// reads what shadowfs wrote and the other way round, and two mounts writing one file follow the
// --conflict policy.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/blobstore/s3/rgw_test_env.h"
#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using s3::testing::ScratchBucket;
using ::testing::HasSubstr;

class FuseRgwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = LoadRgwEnv();
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = *env;
    auto bucket = ScratchBucket::Create(env_);
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    bucket_ = std::move(*bucket);
  }

  std::string Url() const { return "s3://" + bucket_->s3().config().bucket; }
  std::map<std::string, std::string> Credentials() const {
    return {{"AWS_ACCESS_KEY_ID", env_.access_key}, {"AWS_SECRET_ACCESS_KEY", env_.secret_key}};
  }
  std::vector<std::string> Args(const std::string& mnt, const std::string& store,
                                std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"mount",    Url(),      mnt,          "--foreground",
                                     "--store",  store,      "--endpoint", env_.endpoint,
                                     "--region", env_.region};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  std::unique_ptr<ShadowfsMount> Mount(const std::string& mnt, const std::string& store,
                                       std::vector<std::string> extra = {}) {
    return std::make_unique<ShadowfsMount>(mnt, Args(mnt, store, std::move(extra)), dirs_.log,
                                           Credentials());
  }
  std::string Object(const std::string& key) {
    auto r = blobstore::GetString(*bucket_, key);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }

  RgwEnv env_;
  std::unique_ptr<ScratchBucket> bucket_;
  MountDirs dirs_;  // declared after the bucket: mounts end before the bucket is removed
};

TEST_F(FuseRgwTest, OperationsLandAsObjectsWithPosixMetadata) {
  auto mount = Mount(dirs_.mnt, dirs_.store);
  ASSERT_TRUE(mount->Start());
  const std::string m = dirs_.mnt + "/";
  const size_t kMiB = 1 << 20;
  for (size_t size : {size_t{0}, size_t{1}, kMiB - 1, kMiB + 1, 12 * kMiB + 3}) {
    std::string name = "f" + std::to_string(size);
    ASSERT_EQ(WriteFile(m + name, Pattern(size, static_cast<uint32_t>(size))), 0) << name;
    EXPECT_TRUE(SameBytes(Object(name), Pattern(size, static_cast<uint32_t>(size)))) << name;
    EXPECT_TRUE(SameBytes(ReadFile(m + name), Pattern(size, static_cast<uint32_t>(size)))) << name;
  }
  ASSERT_EQ(::chmod((m + "f1").c_str(), 0640), 0);
  timespec times[2] = {{1'600'000'000, 0}, {1'500'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (m + "f1").c_str(), times, 0), 0);
  auto head = bucket_->Head("f1");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(std::stoul(head->metadata["mode"]) & 07777, 0640u);
  EXPECT_EQ(head->metadata["mtime"].substr(0, 10), "1500000000");

  ASSERT_EQ(::mkdir((m + "d").c_str(), 0755), 0);
  EXPECT_TRUE(bucket_->Head("d/").ok()) << "mkdir writes a d/ marker";
  ASSERT_EQ(WriteFile(m + "d/inner", "in"), 0);
  ASSERT_EQ(::rename((m + "d").c_str(), (m + "e").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(Object("e/inner"), "in");
  EXPECT_FALSE(bucket_->Head("d/inner").ok());
  ASSERT_EQ(::symlink("e/inner", (m + "link").c_str()), 0);
  EXPECT_EQ(Object("link"), "e/inner");
  EXPECT_EQ(ReadFile(m + "link"), "in");
  EXPECT_EQ(::link((m + "f1").c_str(), (m + "hard").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
  ASSERT_EQ(::unlink((m + "f0").c_str()), 0);
  EXPECT_FALSE(bucket_->Head("f0").ok());
  ASSERT_TRUE(mount->Unmount());
}

// fs/lookup_reads.h against RGW: once the mount has seen that `cat` reads the files it looks
// up, its lookups GET the files instead of their HEADs and the reads need no request.
TEST_F(FuseRgwTest, LookupsOfAProcessThatReadsWhatItLooksUpFetchTheFile) {
  std::vector<std::string> paths;
  std::string expected;
  for (int i = 0; i < 20; ++i) {
    std::string data = Pattern(1000 + i, i);
    ASSERT_TRUE(blobstore::PutString(*bucket_, "d/f" + std::to_string(i), data).ok());
    paths.push_back(dirs_.mnt + "/d/f" + std::to_string(i));
    expected += data;
  }
  ASSERT_TRUE(blobstore::PutString(*bucket_, "d/empty", "").ok());
  uint16_t port = FreePort();
  // Prediction off: the sibling model would otherwise prefetch f(i+1).. while `cat` looks them
  // up, and such a GET, counted below, is not a lookup's (22 GETs in a loaded CI run).
  auto mount =
      Mount(dirs_.mnt, dirs_.store,
            {"--metrics-addr", "127.0.0.1:" + std::to_string(port), "--prediction", "off"});
  ASSERT_TRUE(mount->Start());
  EXPECT_TRUE(SameBytes(CatEach(paths), expected));
  // An empty object, whose ranged GET RGW answers 416, is looked up and read as well.
  EXPECT_EQ(CatEach({dirs_.mnt + "/d/empty"}), "");
  std::map<std::string, double> m = Scrape(port);
  EXPECT_GE(m["shadowfs_lookups_read_total"], 11) << mount->Log();
  // Requests: a HEAD for each of the first 8 lookups only, and one GET per file (the later
  // lookups' GETs, whose content the reads used).
  double heads = 0, gets = 0;
  for (const auto& [series, value] : m) {
    if (!series.starts_with("shadowfs_s3_requests_total{")) continue;
    if (series.find("op=\"head\"") != std::string::npos) heads += value;
    if (series.find("op=\"get\"") != std::string::npos) gets += value;
  }
  EXPECT_LE(heads, 10) << "HEADs";
  EXPECT_LE(gets, 21) << "GETs";
  EXPECT_GE(gets, 20) << "GETs";
  EXPECT_TRUE(mount->Unmount());
}

TEST_F(FuseRgwTest, MissingBucketAndBadCredentialsAreClearErrors) {
  std::vector<std::string> args = Args(dirs_.mnt, dirs_.store);
  args.erase(std::find(args.begin(), args.end(), "--foreground"));
  args.insert(args.begin(), ShadowfsBinary());
  std::vector<std::string> missing = args;
  missing[2] = "s3://no-such-bucket-" + UniqueBucketName("x");
  CommandResult r = RunCommand(missing, Credentials());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("no-such-bucket")) << r.output;
  EXPECT_THAT(r.output, ::testing::AnyOf(HasSubstr("does not exist"), HasSubstr("NoSuchBucket"),
                                         HasSubstr("not found")))
      << r.output;

  auto wrong = Credentials();
  wrong["AWS_SECRET_ACCESS_KEY"] = "not-the-secret";
  r = RunCommand(args, wrong);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, ::testing::AnyOf(HasSubstr("credential"), HasSubstr("denied"),
                                         HasSubstr("Signature")))
      << r.output;
  EXPECT_FALSE(IsMountedAs(dirs_.mnt));
}

// Debian's s3fs on the same bucket, each way round. One mount at a time, so neither side's
// caches can hide what the other wrote.
TEST_F(FuseRgwTest, InteroperatesWithS3fs) {
  ASSERT_TRUE(std::filesystem::exists("/usr/bin/s3fs")) << "s3fs is not installed";
  const std::string m = dirs_.mnt + "/";
  {
    auto mount = Mount(dirs_.mnt, dirs_.store);
    ASSERT_TRUE(mount->Start());
    ASSERT_EQ(WriteFile(m + "ours.txt", "written by shadowfs"), 0);
    ASSERT_EQ(::chmod((m + "ours.txt").c_str(), 0604), 0);
    timespec times[2] = {{1'600'000'000, 0}, {1'550'000'000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (m + "ours.txt").c_str(), times, 0), 0);
    ASSERT_EQ(::mkdir((m + "ourdir").c_str(), 0710), 0);
    ASSERT_EQ(WriteFile(m + "ourdir/x", Pattern(3 << 20)), 0);
    ASSERT_EQ(::symlink("ours.txt", (m + "ourlink").c_str()), 0);
    ASSERT_TRUE(mount->Unmount());
  }
  std::string passwd = dirs_.root.File("passwd-s3fs");
  {
    std::ofstream out(passwd);
    out << env_.access_key << ":" << env_.secret_key << "\n";
  }
  ASSERT_EQ(::chmod(passwd.c_str(), 0600), 0);
  {
    ShadowfsMount s3fs(dirs_.mnt,
                       {bucket_->s3().config().bucket, dirs_.mnt, "-f", "-o",
                        "url=" + env_.endpoint + ",use_path_request_style,passwd_file=" + passwd +
                            ",endpoint=" + env_.region + ",stat_cache_expire=1"},
                       dirs_.log, {}, "/usr/bin/s3fs");
    s3fs.set_fstype("fuse.s3fs");
    ASSERT_TRUE(s3fs.Start());
    struct stat st {};
    ASSERT_EQ(::stat((m + "ours.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0604u);
    EXPECT_EQ(st.st_mtime, 1'550'000'000);
    EXPECT_EQ(ReadFile(m + "ours.txt"), "written by shadowfs");
    ASSERT_EQ(::stat((m + "ourdir").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0710u);
    EXPECT_TRUE(SameBytes(ReadFile(m + "ourdir/x"), Pattern(3 << 20)));
    char buf[64] = {};
    EXPECT_EQ(::readlink((m + "ourlink").c_str(), buf, sizeof(buf)), 8);
    EXPECT_STREQ(buf, "ours.txt");

    ASSERT_EQ(WriteFile(m + "theirs.txt", "written by s3fs"), 0);
    ASSERT_EQ(::chmod((m + "theirs.txt").c_str(), 0612), 0);
    timespec times[2] = {{1'600'000'000, 0}, {1'450'000'000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, (m + "theirs.txt").c_str(), times, 0), 0);
    ASSERT_EQ(::mkdir((m + "theirdir").c_str(), 0750), 0);
    ASSERT_EQ(WriteFile(m + "theirdir/y", Pattern(2 << 20, 5)), 0);
    ASSERT_EQ(::symlink("theirs.txt", (m + "theirlink").c_str()), 0);
    s3fs.Stop();
  }
  {
    auto mount = Mount(dirs_.mnt, dirs_.root.File("store2"));
    ASSERT_TRUE(mount->Start());
    struct stat st {};
    ASSERT_EQ(::stat((m + "theirs.txt").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0612u);
    EXPECT_EQ(st.st_mtime, 1'450'000'000);
    EXPECT_EQ(ReadFile(m + "theirs.txt"), "written by s3fs");
    ASSERT_EQ(::stat((m + "theirdir").c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_TRUE(SameBytes(ReadFile(m + "theirdir/y"), Pattern(2 << 20, 5)));
    ASSERT_EQ(::lstat((m + "theirlink").c_str(), &st), 0);
    EXPECT_TRUE(S_ISLNK(st.st_mode));
    char buf[64] = {};
    EXPECT_EQ(::readlink((m + "theirlink").c_str(), buf, sizeof(buf)), 10);
    EXPECT_STREQ(buf, "theirs.txt");
    ASSERT_TRUE(mount->Unmount());
  }
}

// Two mounts of one bucket write the same file from the same starting version: the second
// upload meets a precondition failure and the policy decides.
class FuseConflictTest : public FuseRgwTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(FuseConflictTest, SecondWriterFollowsThePolicy) {
  const std::string policy = GetParam();
  ASSERT_TRUE(blobstore::PutString(*bucket_, "shared", "base").ok());
  std::string mnt2 = dirs_.root.File("mnt2");
  ASSERT_EQ(::mkdir(mnt2.c_str(), 0755), 0);
  auto a = Mount(dirs_.mnt, dirs_.store, {"--conflict", policy});
  auto b = Mount(mnt2, dirs_.root.File("store2"), {"--conflict", policy});
  ASSERT_TRUE(a->Start());
  ASSERT_TRUE(b->Start());
  ASSERT_EQ(ReadFile(dirs_.mnt + "/shared"), "base");
  ASSERT_EQ(ReadFile(mnt2 + "/shared"), "base");
  int fb = ::open((mnt2 + "/shared").c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fb, 0);
  ASSERT_EQ(WriteFile(dirs_.mnt + "/shared", "from A", false, O_WRONLY | O_TRUNC), 0);
  ASSERT_EQ(Object("shared"), "from A");
  ASSERT_EQ(::write(fb, "from B", 6), 6);
  int closed = ::close(fb) == 0 ? 0 : errno;

  if (policy == "lww") {
    EXPECT_EQ(closed, 0);
    EXPECT_EQ(Object("shared"), "from B");
  } else if (policy == "copy") {
    EXPECT_EQ(closed, 0);
    EXPECT_EQ(Object("shared"), "from A");
    auto page = bucket_->List({});
    ASSERT_TRUE(page.ok());
    bool found = false;
    for (const auto& o : page->objects) {
      if (o.key.starts_with("shared.conflict-")) found = Object(o.key) == "from B";
    }
    EXPECT_TRUE(found) << "no shared.conflict-<host>-<time> holding B's data";
  } else {
    EXPECT_EQ(closed, EIO);
    EXPECT_EQ(Object("shared"), "from A");
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, FuseConflictTest, ::testing::Values("lww", "copy", "fail"));

}  // namespace
}  // namespace shadowfs::testing
