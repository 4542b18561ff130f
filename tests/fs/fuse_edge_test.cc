// Bad environments a mount must survive or refuse clearly: a store on a full disk (writes fail
// with ENOSPC and never leave a short object in the primary, reads still serve the primary's
// bytes), and a machine without /dev/fuse (mount exits 1 naming it, leaving no daemon behind).
#include <dirent.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using ::testing::HasSubstr;

constexpr size_t kMiB = 1 << 20;

// Pids of live processes whose command line contains `needle` (e.g. a test's unique store path).
std::vector<pid_t> ProcessesMentioning(const std::string& needle) {
  std::vector<pid_t> out;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return out;
  while (dirent* e = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == ::getpid()) continue;
    std::ifstream in(std::string("/proc/") + e->d_name + "/cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos) out.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(proc);
  return out;
}

// The mount's store is a 4 MiB tmpfs the test mounts itself: the disk fills long before the
// store's byte cap (10 GiB by default) is reached.
class FullStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::mount("tmpfs", dirs_.store.c_str(), "tmpfs", 0, "size=4m,mode=0755"), 0)
        << std::strerror(errno);
    store_mounted_ = true;
    ASSERT_TRUE(mount_.Start());
  }
  void TearDown() override {
    mount_.Stop();
    if (store_mounted_ && ::umount2(dirs_.store.c_str(), 0) != 0) {
      ::umount2(dirs_.store.c_str(), MNT_DETACH);
    }
  }

  std::string M(const std::string& name) const { return dirs_.mnt + "/" + name; }
  std::string P(const std::string& name) const { return dirs_.primary + "/" + name; }

  // The daemon is running and the mount answers.
  ::testing::AssertionResult Serving() {
    if (mount_.pid() <= 0 || ::kill(mount_.pid(), 0) != 0) {
      return ::testing::AssertionFailure() << "the daemon is gone; log:\n" << mount_.Log();
    }
    struct stat st {};
    if (::stat(dirs_.mnt.c_str(), &st) != 0) {
      return ::testing::AssertionFailure() << "stat of the mount: " << std::strerror(errno);
    }
    return ::testing::AssertionSuccess();
  }

  MountDirs dirs_;
  bool store_mounted_ = false;
  ShadowfsMount mount_{dirs_.mnt, dirs_.MountArgs(), dirs_.log};
};

TEST_F(FullStoreTest, WriteBiggerThanTheDiskFailsWithEnospcAndKeepsThePreviousVersion) {
  const std::string old_data = Pattern(100 * 1024, 1);
  ASSERT_EQ(WriteFile(P("f"), old_data), 0);
  EXPECT_EQ(WriteFile(M("f"), Pattern(8 * kMiB, 2)), ENOSPC) << mount_.Log();
  ASSERT_TRUE(Serving());
  EXPECT_TRUE(SameBytes(ReadFile(P("f")), old_data)) << "the primary lost the previous version";
  EXPECT_TRUE(SameBytes(ReadFile(M("f")), old_data));

  // A new file: nothing reaches the primary.
  EXPECT_EQ(WriteFile(M("new"), Pattern(8 * kMiB, 3), /*fsync_it=*/true), ENOSPC);
  ASSERT_TRUE(Serving());
  struct stat st {};
  EXPECT_NE(::stat(P("new").c_str(), &st), 0) << "a short object reached the primary";

  // The failed writes left no space behind: writes that fit still work.
  const std::string small = Pattern(kMiB, 4);
  ASSERT_EQ(WriteFile(M("f"), small), 0) << mount_.Log();
  EXPECT_TRUE(SameBytes(ReadFile(P("f")), small));
  EXPECT_TRUE(SameBytes(ReadFile(M("f")), small));
  ASSERT_EQ(WriteFile(M("g"), small, /*fsync_it=*/true), 0);
  EXPECT_TRUE(SameBytes(ReadFile(P("g")), small));
  EXPECT_TRUE(mount_.Unmount());
}

TEST_F(FullStoreTest, ReadBiggerThanTheDiskReturnsThePrimaryBytes) {
  const std::string big = Pattern(10 * kMiB, 5);
  ASSERT_EQ(WriteFile(P("big"), big), 0);
  EXPECT_TRUE(SameBytes(ReadFile(M("big")), big));
  EXPECT_TRUE(SameBytes(ReadFile(M("big")), big)) << "second read";
  EXPECT_TRUE(Serving());
  EXPECT_TRUE(mount_.Unmount());
}

// Read-through shadows must not crowd out staged writes: the store keeps a quarter of its disk
// free and shrinks when the disk fills from elsewhere (ShadowStore::Impl::EffectiveCapacity).
TEST_F(FullStoreTest, WritesWorkAfterReadThroughFilledTheDisk) {
  const std::string big = Pattern(10 * kMiB, 5);
  ASSERT_EQ(WriteFile(P("big"), big), 0);
  EXPECT_TRUE(SameBytes(ReadFile(M("big")), big));
  const std::string small = Pattern(kMiB, 6);
  ASSERT_EQ(WriteFile(M("after"), small), 0) << mount_.Log();
  EXPECT_TRUE(SameBytes(ReadFile(P("after")), small));
  EXPECT_TRUE(mount_.Unmount());
}

// `shadowfs mount` in a private mount namespace whose /dev has no fuse device (as in a
// container started without --device /dev/fuse).
class NoFuseDeviceTest : public ::testing::TestWithParam<bool> {};

TEST_P(NoFuseDeviceTest, MountExitsOneNamingDevFuse) {
  const bool foreground = GetParam();
  MountDirs dirs;
  std::string command = "mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && exec " +
                        ShadowfsBinary() + " mount file://" + dirs.primary + " " + dirs.mnt +
                        " --store " + dirs.store + (foreground ? " --foreground" : "");
  CommandResult r =
      RunCommand({"/usr/bin/unshare", "-m", "--propagation", "private", "/bin/sh", "-c", command},
                 {}, std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("/dev/fuse"));
  std::string text = r.output;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 0) << "not one line:\n" << r.output;
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
  // A forked daemon child may still be exiting when the command returns; one that stays is a bug.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<pid_t> left = ProcessesMentioning(dirs.store);
  while (!left.empty() && std::chrono::steady_clock::now() < deadline) {
    ::usleep(20'000);
    left = ProcessesMentioning(dirs.store);
  }
  EXPECT_THAT(left, ::testing::IsEmpty()) << "a daemon stayed behind";
  for (pid_t pid : left) ::kill(pid, SIGKILL);
}

INSTANTIATE_TEST_SUITE_P(Modes, NoFuseDeviceTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Foreground" : "Daemon"; });

}  // namespace
}  // namespace shadowfs::testing
