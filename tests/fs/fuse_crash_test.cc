// kill -9 of the mount daemon in the middle of writes, then a remount of the same store: every
// write that close()/fsync() acknowledged reaches the primary (directly, or by the replay of its
// write intent when --writeback acknowledged it locally).
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace shadowfs::testing {
namespace {

class FuseCrashTest : public ::testing::TestWithParam<bool> {};

TEST_P(FuseCrashTest, AcknowledgedWritesSurviveKillDashNine) {
  const bool writeback = GetParam();
  MountDirs dirs;
  std::vector<std::string> extra = {"--log-level", "info"};
  if (writeback) extra.push_back("--writeback");
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs(extra), dirs.log);
  ASSERT_TRUE(mount.Start());

  std::mutex mu;
  std::vector<int> acknowledged;
  std::atomic<bool> stop{false};
  // The writer resolves names from the mount's root, never by path: once the dead mount is
  // detached, a path would reach the bare directory underneath and "succeed" there.
  int root = ::open(dirs.mnt.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      std::string name = "w" + std::to_string(i);
      // Alternate fsync-then-close and plain close acknowledgements.
      if (WriteFile(name, Pattern(200000 + i, static_cast<uint32_t>(i)), i % 2 == 0,
                    O_WRONLY | O_CREAT | O_TRUNC, 0644, root) != 0) {
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      acknowledged.push_back(i);
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (acknowledged.size() >= 20) break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "writes too slow; log:\n" << mount.Log();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  mount.Crash();
  stop = true;
  writer.join();
  ::close(root);
  std::vector<int> done;
  {
    std::lock_guard<std::mutex> lock(mu);
    done = acknowledged;
  }

  // The next mount of the same store replays what the crash left; unmount drains it.
  ShadowfsMount again(dirs.mnt, dirs.MountArgs(extra), dirs.log);
  ASSERT_TRUE(again.Start());
  ASSERT_TRUE(again.Unmount());
  for (int i : done) {
    std::string name = "w" + std::to_string(i);
    EXPECT_TRUE(SameBytes(ReadFile(dirs.primary + "/" + name),
                          Pattern(200000 + i, static_cast<uint32_t>(i))))
        << name << " was acknowledged but is not in the primary";
  }
  if (HasFailure()) ADD_FAILURE() << "daemon logs (both mounts):\n" << again.Log();
}

INSTANTIATE_TEST_SUITE_P(Modes, FuseCrashTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "Writeback" : "WriteThrough";
                         });

}  // namespace
}  // namespace shadowfs::testing
