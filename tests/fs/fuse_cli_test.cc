// The mount and unmount commands as a user runs them: exit codes and messages for bad input,
// daemonizing, unmount while busy, SIGTERM, -o options, and mount.shadowfs as mount(8) calls it.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

using ::testing::HasSubstr;

CommandResult Shadowfs(std::vector<std::string> args,
                       const std::map<std::string, std::string>& env = {}) {
  args.insert(args.begin(), ShadowfsBinary());
  return RunCommand(args, env, std::chrono::seconds(120));
}

// Unmounts a daemonized mount at the end of a test whatever happened.
struct DaemonGuard {
  explicit DaemonGuard(std::string mnt) : mnt(std::move(mnt)) {}
  ~DaemonGuard() {
    if (IsMountedAs(mnt)) (void)Shadowfs({"unmount", mnt, "--timeout", "60"});
    if (IsMountedAs(mnt)) ::umount2(mnt.c_str(), MNT_DETACH);
  }
  std::string mnt;
};

TEST(FuseCliTest, MissingMountpointIsAClearError) {
  MountDirs dirs;
  CommandResult r =
      Shadowfs({"mount", "file://" + dirs.primary, dirs.root.File("nope"), "--store", dirs.store});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("does not exist"));
}

TEST(FuseCliTest, MountpointThatIsAFileIsAClearError) {
  MountDirs dirs;
  ASSERT_EQ(WriteFile(dirs.root.File("file"), "x"), 0);
  CommandResult r =
      Shadowfs({"mount", "file://" + dirs.primary, dirs.root.File("file"), "--store", dirs.store});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not a directory"));
}

TEST(FuseCliTest, BusyMountpointIsRefused) {
  MountDirs dirs;
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs(), dirs.log);
  ASSERT_TRUE(mount.Start());
  CommandResult r =
      Shadowfs({"mount", "file://" + dirs.primary, dirs.mnt, "--store", dirs.root.File("store2")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("busy"));
}

TEST(FuseCliTest, BadOptionsExitTwoWithTheReason) {
  MountDirs dirs;
  std::vector<std::string> base = {"mount", "file://" + dirs.primary, dirs.mnt, "--store",
                                   dirs.store};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return Shadowfs(args);
  };
  CommandResult r = with({"--conflict", "maybe"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("lww, copy or fail"));
  r = with({"-o", "cache-size=lots"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("bad size"));
  r = with({"--min-confidence", "1.5"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("0 to 1"));
  // An -o option neither shadowfs nor FUSE knows: FUSE refuses it, and the user hears which.
  r = with({"-o", "bogusopt"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("bogusopt"));
  r = Shadowfs({"mount", "ftp://host/x", dirs.mnt});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown primary"));
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
}

TEST(FuseCliTest, UnreachableEndpointIsAClearError) {
  MountDirs dirs;
  // Port 9 (discard): nothing listens there on a test machine, so connections are refused.
  CommandResult r =
      Shadowfs({"mount", "s3://bucket", dirs.mnt, "--store", dirs.store, "--endpoint",
                "http://127.0.0.1:9", "--foreground"},
               {{"AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"}, {"AWS_SECRET_ACCESS_KEY", "secret"}});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("127.0.0.1:9"));
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
}

TEST(FuseCliTest, DaemonMountsReturnsAndUnmountWaitsForIt) {
  MountDirs dirs;
  DaemonGuard guard(dirs.mnt);
  CommandResult r = Shadowfs({"mount", "file://" + dirs.primary, dirs.mnt, "--store", dirs.store});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(IsMountedAs(dirs.mnt)) << "exit 0 must mean mounted";
  ASSERT_EQ(WriteFile(dirs.mnt + "/f", "daemon"), 0);
  EXPECT_TRUE(std::filesystem::exists(dirs.store + "/mount.log"));

  r = Shadowfs({"unmount", dirs.mnt});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
  EXPECT_EQ(ReadFile(dirs.primary + "/f"), "daemon");
  // The daemon is gone: the store can be opened by a new mount at once.
  r = Shadowfs({"mount", "file://" + dirs.primary, dirs.mnt, "--store", dirs.store});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(ReadFile(dirs.mnt + "/f"), "daemon");
}

// A daemon started from a directory must not keep it busy (it could never be unmounted or
// removed): it runs in /, with the relative paths it was given resolved first.
TEST(FuseCliTest, DaemonRunsInTheRootDirectory) {
  MountDirs dirs;
  DaemonGuard guard(dirs.mnt);
  std::string started_in = dirs.root.File("cwd");
  std::filesystem::create_directories(started_in);
  CommandResult r =
      RunCommand({"/bin/sh", "-c",
                  "cd '" + started_in + "' && exec '" + ShadowfsBinary() + "' mount file://" +
                      dirs.primary + " " + dirs.mnt + " --store " + dirs.store},
                 {}, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::string daemon_cwd;
  for (const auto& proc : std::filesystem::directory_iterator("/proc")) {
    std::ifstream cmdline(proc.path() / "cmdline");
    std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
    if (args.find(dirs.store) == std::string::npos || args.find("mount") == std::string::npos) {
      continue;
    }
    std::error_code ec;
    daemon_cwd = std::filesystem::read_symlink(proc.path() / "cwd", ec).string();
  }
  EXPECT_EQ(daemon_cwd, "/");
  ASSERT_EQ(WriteFile(dirs.mnt + "/f", "x"), 0);
  EXPECT_EQ(Shadowfs({"unmount", dirs.mnt}).exit_code, 0);
}

TEST(FuseCliTest, DaemonSetupErrorsReachTheCommand) {
  MountDirs dirs;
  ShadowfsMount first(dirs.mnt, dirs.MountArgs(), dirs.log);
  ASSERT_TRUE(first.Start());
  // The same store for a second mount elsewhere: the daemon child fails after the fork.
  std::string mnt2 = dirs.root.File("mnt2");
  ASSERT_EQ(::mkdir(mnt2.c_str(), 0755), 0);
  DaemonGuard guard(mnt2);
  CommandResult r = Shadowfs({"mount", "file://" + dirs.primary, mnt2, "--store", dirs.store});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("pid"));
  EXPECT_FALSE(IsMountedAs(mnt2));
}

TEST(FuseCliTest, UnmountRefusesWhatIsNotShadowfsAndWhatIsBusy) {
  MountDirs dirs;
  CommandResult r = Shadowfs({"unmount", dirs.mnt});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not mounted"));
  r = Shadowfs({"unmount", "/proc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("not a shadowfs mount"));

  ShadowfsMount mount(dirs.mnt, dirs.MountArgs(), dirs.log);
  ASSERT_TRUE(mount.Start());
  int fd = ::open((dirs.mnt + "/open").c_str(), O_WRONLY | O_CREAT, 0644);
  ASSERT_GE(fd, 0);
  r = Shadowfs({"unmount", dirs.mnt});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.output, HasSubstr("busy"));
  EXPECT_TRUE(IsMountedAs(dirs.mnt));
  ASSERT_EQ(::close(fd), 0);
  EXPECT_TRUE(mount.Unmount());
}

TEST(FuseCliTest, SigtermUnmountsAndFinishesUploads) {
  MountDirs dirs;
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs({"--writeback"}), dirs.log);
  ASSERT_TRUE(mount.Start());
  ASSERT_EQ(WriteFile(dirs.mnt + "/f", Pattern(3 << 20)), 0);
  mount.Stop();  // SIGTERM, and a deadline
  EXPECT_TRUE(WIFEXITED(mount.exit_status()) && WEXITSTATUS(mount.exit_status()) == 0)
      << mount.exit_status() << "\n"
      << mount.Log();
  EXPECT_FALSE(IsMountedAs(dirs.mnt));
  EXPECT_TRUE(SameBytes(ReadFile(dirs.primary + "/f"), Pattern(3 << 20)));
}

TEST(FuseCliTest, OptionsReadOnlyAndOwnership) {
  MountDirs dirs;
  ASSERT_EQ(WriteFile(dirs.primary + "/plain", "no metadata"), 0);
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs({"-o", "ro,uid=4321,gid=8765"}), dirs.log);
  ASSERT_TRUE(mount.Start());
  struct stat st {};
  ASSERT_EQ(::stat((dirs.mnt + "/plain").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 4321u);
  EXPECT_EQ(st.st_gid, 8765u);
  EXPECT_EQ(ReadFile(dirs.mnt + "/plain"), "no metadata");
  EXPECT_EQ(WriteFile(dirs.mnt + "/new", "x"), EROFS);
}

TEST(FuseCliTest, MountHelperTranslatesFstabOptions) {
  MountDirs dirs;
  std::string store = dirs.root.File("helper-store");
  // As mount(8) runs it for `file:///... /mnt shadowfs _netdev,nofail,store=...,... 0 0`, plus
  // foreground so the test owns the process.
  ShadowfsMount mount(dirs.mnt,
                      {"file://" + dirs.primary, dirs.mnt, "-o",
                       "rw,_netdev,nofail,x-systemd.automount,store=" + store +
                           ",cache-size=1G,conflict=lww,foreground,min_confidence=0.5"},
                      dirs.log, {}, MountHelperBinary());
  ASSERT_TRUE(mount.Start());
  EXPECT_TRUE(std::filesystem::exists(store)) << "store= was not used";
  ASSERT_EQ(WriteFile(dirs.mnt + "/via-helper", "ok"), 0);
  EXPECT_EQ(ReadFile(dirs.primary + "/via-helper"), "ok");
  EXPECT_TRUE(mount.Unmount());

  // And daemonized, with mount(8)'s -n flag.
  DaemonGuard guard(dirs.mnt);
  CommandResult r = RunCommand({MountHelperBinary(), "file://" + dirs.primary, dirs.mnt, "-n", "-o",
                                "_netdev,store=" + store});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(IsMountedAs(dirs.mnt));
  EXPECT_EQ(ReadFile(dirs.mnt + "/via-helper"), "ok");
}

}  // namespace
}  // namespace shadowfs::testing
