// Every filesystem operation through the kernel, with plain syscalls, on a real shadowfs mount
// over a local-directory primary.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"
#include "tests/support/subprocess.h"

namespace shadowfs::testing {
namespace {

class FuseLocalTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(mount_.Start()); }

  std::string M(const std::string& name) const { return dirs_.mnt + "/" + name; }
  std::string P(const std::string& name) const { return dirs_.primary + "/" + name; }

  std::set<std::string> ListDir(const std::string& path) {
    std::set<std::string> names;
    DIR* d = ::opendir(path.c_str());
    EXPECT_NE(d, nullptr) << path << ": " << std::strerror(errno);
    if (d == nullptr) return names;
    while (dirent* e = ::readdir(d)) names.insert(e->d_name);
    ::closedir(d);
    return names;
  }

  MountDirs dirs_;
  ShadowfsMount mount_{dirs_.mnt, dirs_.MountArgs(), dirs_.log};
};

TEST_F(FuseLocalTest, FilesOfEverySizeReadBackAndReachThePrimaryOnClose) {
  const size_t kMiB = 1 << 20;
  for (size_t size : {size_t{0}, size_t{1}, kMiB - 1, kMiB, kMiB + 1, 3 * kMiB + 17}) {
    std::string name = "f" + std::to_string(size);
    std::string data = Pattern(size, static_cast<uint32_t>(size));
    ASSERT_EQ(WriteFile(M(name), data), 0) << name;
    struct stat st {};
    ASSERT_EQ(::stat(M(name).c_str(), &st), 0);
    EXPECT_EQ(static_cast<size_t>(st.st_size), size);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_TRUE(SameBytes(ReadFile(M(name)), data)) << name;
    // close() returned: the object is in the primary.
    EXPECT_TRUE(SameBytes(ReadFile(P(name)), data)) << name;
  }
}

TEST_F(FuseLocalTest, FilesThePrimaryAlreadyHasAreVisible) {
  ASSERT_EQ(WriteFile(P("existing.txt"), "from before the mount"), 0);
  ASSERT_EQ(::mkdir(P("olddir").c_str(), 0755), 0);
  ASSERT_EQ(WriteFile(P("olddir/inner"), "inner"), 0);
  EXPECT_EQ(ReadFile(M("existing.txt")), "from before the mount");
  EXPECT_EQ(ReadFile(M("olddir/inner")), "inner");
  std::set<std::string> names = ListDir(dirs_.mnt);
  EXPECT_TRUE(names.count("existing.txt")) << "listing lacks existing.txt";
  EXPECT_TRUE(names.count("olddir"));
}

TEST_F(FuseLocalTest, OverwriteAppendAndPartialWrites) {
  ASSERT_EQ(WriteFile(M("f"), "hello world"), 0);
  ASSERT_EQ(WriteFile(M("f"), "HELLO", false, O_WRONLY), 0);  // no O_TRUNC: in place
  EXPECT_EQ(ReadFile(M("f")), "HELLO world");
  ASSERT_EQ(WriteFile(M("f"), "!", false, O_WRONLY | O_APPEND), 0);
  EXPECT_EQ(ReadFile(M("f")), "HELLO world!");
  ASSERT_EQ(WriteFile(M("f"), "new", false, O_WRONLY | O_TRUNC), 0);
  EXPECT_EQ(ReadFile(M("f")), "new");
  EXPECT_EQ(ReadFile(P("f")), "new");
  // O_EXCL on an existing file.
  EXPECT_EQ(WriteFile(M("f"), "x", false, O_WRONLY | O_CREAT | O_EXCL), EEXIST);
}

TEST_F(FuseLocalTest, ChmodChownUtimensTruncate) {
  ASSERT_EQ(WriteFile(M("f"), Pattern(5000)), 0);
  ASSERT_EQ(::chmod(M("f").c_str(), 0600), 0);
  ASSERT_EQ(::chown(M("f").c_str(), 1234, 5678), 0);
  timespec times[2] = {{1'600'000'000, 0}, {1'500'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, M("f").c_str(), times, 0), 0);
  ASSERT_EQ(::truncate(M("f").c_str(), 100), 0);
  struct stat st {};
  ASSERT_EQ(::stat(M("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_size, 100);
  EXPECT_TRUE(SameBytes(ReadFile(M("f")), Pattern(5000).substr(0, 100)));
  EXPECT_TRUE(SameBytes(ReadFile(P("f")), Pattern(5000).substr(0, 100)));

  // ftruncate through an open descriptor, growing with zeros.
  int fd = ::open(M("f").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 200), 0);
  ASSERT_EQ(::close(fd), 0);
  EXPECT_TRUE(SameBytes(ReadFile(M("f")), Pattern(5000).substr(0, 100) + std::string(100, '\0')));

  // The metadata is the primary's, not the kernel's cache: it survives a remount.
  ASSERT_TRUE(mount_.Unmount());
  ShadowfsMount again(dirs_.mnt, dirs_.MountArgs(), dirs_.log);
  ASSERT_TRUE(again.Start());
  ASSERT_EQ(::stat(M("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_size, 200);
}

TEST_F(FuseLocalTest, UtimeNowSetsTheCurrentTime) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  timespec old_times[2] = {{1'000'000'000, 0}, {1'000'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, M("f").c_str(), old_times, 0), 0);
  time_t before = ::time(nullptr);
  ASSERT_EQ(::utimensat(AT_FDCWD, M("f").c_str(), nullptr, 0), 0);  // touch
  struct stat st {};
  ASSERT_EQ(::stat(M("f").c_str(), &st), 0);
  EXPECT_GE(st.st_mtime, before - 1);
}

TEST_F(FuseLocalTest, DirectoriesMakeListRenameRemove) {
  ASSERT_EQ(::mkdir(M("d").c_str(), 0750), 0);
  struct stat st {};
  ASSERT_EQ(::stat(M("d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(::mkdir(M("d").c_str(), 0755), -1);
  EXPECT_EQ(errno, EEXIST);

  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(WriteFile(M("d/file" + std::to_string(i)), std::to_string(i)), 0);
  }
  ASSERT_EQ(::mkdir(M("d/sub").c_str(), 0755), 0);
  std::set<std::string> names = ListDir(M("d"));
  EXPECT_EQ(names.size(), 53u);  // 50 files, sub, . and ..
  EXPECT_TRUE(names.count(".") && names.count("..") && names.count("sub"));

  EXPECT_EQ(::rmdir(M("d").c_str()), -1);
  EXPECT_EQ(errno, ENOTEMPTY);

  ASSERT_EQ(::rename(M("d").c_str(), M("e").c_str()), 0) << std::strerror(errno);
  EXPECT_EQ(::stat(M("d").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(ReadFile(M("e/file7")), "7");
  EXPECT_EQ(ReadFile(P("e/file7")), "7");
  EXPECT_FALSE(std::filesystem::exists(P("d/file7")));

  for (int i = 0; i < 50; ++i) ASSERT_EQ(::unlink(M("e/file" + std::to_string(i)).c_str()), 0);
  ASSERT_EQ(::rmdir(M("e/sub").c_str()), 0);
  ASSERT_EQ(::rmdir(M("e").c_str()), 0);
  EXPECT_EQ(::stat(M("e").c_str(), &st), -1);
  EXPECT_FALSE(std::filesystem::exists(P("e")));
}

// Far more entries than one readdir reply holds: every name exactly once, and each one stats.
TEST_F(FuseLocalTest, LargeDirectoryListsEveryEntryOnce) {
  const int kFiles = 3000;
  ASSERT_EQ(::mkdir(P("big").c_str(), 0755), 0);
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_EQ(WriteFile(P("big/entry-with-a-longish-name-" + std::to_string(i)), "x"), 0);
  }
  std::vector<std::string> names;
  DIR* d = ::opendir(M("big").c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = ::readdir(d)) names.push_back(e->d_name);
  ::closedir(d);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(names.size(), unique.size()) << "duplicates in the listing";
  EXPECT_EQ(unique.size(), static_cast<size_t>(kFiles + 2));
  for (int i = 0; i < kFiles; i += 97) {
    struct stat st {};
    std::string name = "big/entry-with-a-longish-name-" + std::to_string(i);
    ASSERT_EQ(::stat(M(name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_size, 1);
  }
}

TEST_F(FuseLocalTest, RenameFilesAndUnlink) {
  ASSERT_EQ(WriteFile(M("a"), "A"), 0);
  ASSERT_EQ(WriteFile(M("b"), "B"), 0);
  ASSERT_EQ(::rename(M("a").c_str(), M("c").c_str()), 0);
  EXPECT_EQ(ReadFile(M("c")), "A");
  EXPECT_FALSE(std::filesystem::exists(P("a")));
  EXPECT_EQ(ReadFile(P("c")), "A");
  // Over an existing file: replaced.
  ASSERT_EQ(::rename(M("c").c_str(), M("b").c_str()), 0);
  EXPECT_EQ(ReadFile(M("b")), "A");
  // RENAME_NOREPLACE onto an existing name fails.
  ASSERT_EQ(WriteFile(M("z"), "Z"), 0);
  EXPECT_EQ(::renameat2(AT_FDCWD, M("z").c_str(), AT_FDCWD, M("b").c_str(), RENAME_NOREPLACE), -1);
  EXPECT_EQ(errno, EEXIST);
  ASSERT_EQ(::unlink(M("b").c_str()), 0);
  EXPECT_EQ(::unlink(M("b").c_str()), -1);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_FALSE(std::filesystem::exists(P("b")));
}

TEST_F(FuseLocalTest, SymlinksAndHardLinks) {
  ASSERT_EQ(WriteFile(M("target"), "T"), 0);
  ASSERT_EQ(::symlink("target", M("link").c_str()), 0);
  char buf[256] = {};
  ASSERT_EQ(::readlink(M("link").c_str(), buf, sizeof(buf)), 6);
  EXPECT_STREQ(buf, "target");
  struct stat st {};
  ASSERT_EQ(::lstat(M("link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(ReadFile(M("link")), "T");  // followed by the kernel
  // A symlink to nowhere is still a symlink.
  ASSERT_EQ(::symlink("/does/not/exist", M("dangling").c_str()), 0);
  EXPECT_EQ(::readlink(M("dangling").c_str(), buf, sizeof(buf)), 15);

  EXPECT_EQ(::link(M("target").c_str(), M("hard").c_str()), -1);
  EXPECT_EQ(errno, EPERM);
}

TEST_F(FuseLocalTest, StatFsAnswers) {
  struct statvfs v {};
  ASSERT_EQ(::statvfs(dirs_.mnt.c_str(), &v), 0) << std::strerror(errno);
  EXPECT_GT(v.f_bsize, 0u);
  EXPECT_GE(v.f_namemax, 255u);
}

TEST_F(FuseLocalTest, ExtendedAttributes) {
  ASSERT_EQ(WriteFile(M("f"), "x"), 0);
  std::string path = M("f");
  ASSERT_EQ(::setxattr(path.c_str(), "user.color", "blue", 4, 0), 0) << std::strerror(errno);
  EXPECT_EQ(::getxattr(path.c_str(), "user.color", nullptr, 0), 4);  // the size probe
  char small[2];
  EXPECT_EQ(::getxattr(path.c_str(), "user.color", small, sizeof(small)), -1);
  EXPECT_EQ(errno, ERANGE);
  char value[16] = {};
  ASSERT_EQ(::getxattr(path.c_str(), "user.color", value, sizeof(value)), 4);
  EXPECT_STREQ(value, "blue");
  EXPECT_EQ(::getxattr(path.c_str(), "user.absent", value, sizeof(value)), -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(::setxattr(path.c_str(), "user.color", "red", 3, XATTR_CREATE), -1);
  EXPECT_EQ(errno, EEXIST);

  char list[256] = {};
  ssize_t n = ::listxattr(path.c_str(), list, sizeof(list));
  ASSERT_GT(n, 0);
  EXPECT_NE(std::string(list, static_cast<size_t>(n)).find("user.color"), std::string::npos);

  ASSERT_EQ(::removexattr(path.c_str(), "user.color"), 0);
  EXPECT_EQ(::getxattr(path.c_str(), "user.color", value, sizeof(value)), -1);
  EXPECT_EQ(errno, ENODATA);
  EXPECT_EQ(::removexattr(path.c_str(), "user.color"), -1);
  EXPECT_EQ(errno, ENODATA);
}

// cp -a sets modes through the POSIX ACL attribute when the filesystem takes it; shadowfs does
// not store ACLs, so it must refuse them and let cp fall back to chmod.
TEST_F(FuseLocalTest, CpPreservesModes) {
  TempDir src("cpsrc");
  ASSERT_EQ(WriteFile(src.File("f"), "data"), 0);
  ASSERT_EQ(::chmod(src.File("f").c_str(), 0751), 0);
  timespec times[2] = {{1'600'000'000, 0}, {1'400'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, src.File("f").c_str(), times, 0), 0);
  ASSERT_EQ(::mkdir(src.File("d").c_str(), 0705), 0);
  CommandResult r = RunCommand({"/bin/cp", "-a", src.File("f"), src.File("d"), dirs_.mnt});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st {};
  ASSERT_EQ(::stat(M("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  ASSERT_EQ(::stat(M("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0705u);
  // A minimal valid ACL (user::rw-, group::r--, other::r--): the kernel parses it first.
  const char acl[] =
      "\x02\0\0\0"
      "\x01\0\x06\0\xff\xff\xff\xff"
      "\x04\0\x04\0\xff\xff\xff\xff"
      "\x20\0\x04\0\xff\xff\xff\xff";
  EXPECT_EQ(::setxattr(M("f").c_str(), "system.posix_acl_access", acl, sizeof(acl) - 1, 0), -1);
  EXPECT_EQ(errno, EOPNOTSUPP);
}

// futimens on a file still open for writing (what cp -a, tar and rsync do before close): the
// time set must be the one the committed file keeps.
TEST_F(FuseLocalTest, FutimensBeforeCloseSticks) {
  timespec times[2] = {{1'600'000'000, 0}, {1'400'000'000, 0}};
  for (bool write_first : {true, false}) {
    std::string name = write_first ? "written" : "empty";
    int fd = ::open(M(name).c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    if (write_first) {
      ASSERT_EQ(::write(fd, "data", 4), 4);
    }
    ASSERT_EQ(::futimens(fd, times), 0);
    ASSERT_EQ(::close(fd), 0);
    struct stat st {};
    ASSERT_EQ(::stat(M(name).c_str(), &st), 0);
    EXPECT_EQ(st.st_mtime, 1'400'000'000) << name;
  }
  TempDir src("cpsrc");
  ASSERT_EQ(WriteFile(src.File("f"), "data"), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, src.File("f").c_str(), times, 0), 0);
  CommandResult r = RunCommand({"/bin/cp", "-a", src.File("f"), M("copied")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  struct stat st {};
  ASSERT_EQ(::stat(M("copied").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1'400'000'000) << "cp -a";
}

TEST_F(FuseLocalTest, MissingNamesAreEnoentAndStayCachedNegative) {
  struct stat st {};
  EXPECT_EQ(::stat(M("nothing").c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
  // Created through the mount right after: the negative entry must not hide it.
  ASSERT_EQ(WriteFile(M("nothing"), "now"), 0);
  EXPECT_EQ(ReadFile(M("nothing")), "now");
}

TEST_F(FuseLocalTest, ConcurrentReadersAndWriters) {
  const int kThreads = 8;
  const size_t kSize = (1 << 20) + 4096;
  std::vector<std::thread> threads;
  std::vector<int> errors(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string name = M("c" + std::to_string(t));
      for (int round = 0; round < 3 && errors[t] == 0; ++round) {
        std::string data = Pattern(kSize, static_cast<uint32_t>(t * 10 + round));
        if (WriteFile(name, data) != 0 || ReadFile(name) != data) errors[t] = round + 1;
      }
    });
  }
  // Readers of one shared file while the writers run.
  std::string shared = Pattern(3 << 20, 99);
  ASSERT_EQ(WriteFile(M("shared"), shared), 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 3; ++i) EXPECT_TRUE(SameBytes(ReadFile(M("shared")), shared));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(errors[t], 0) << "writer " << t;
}

// Reads of an open file after its object is gone from the primary (deleted behind our back, as a
// lost disk or an unreachable bucket would look to the read path). A local primary holds its
// directory open, so moving it away would not do; a deleted object is what a read cannot reach.
TEST_F(FuseLocalTest, ShadowsServeReadsWhenThePrimaryIsGone) {
  std::string data = Pattern(2 << 20, 7);
  ASSERT_EQ(WriteFile(M("kept"), data), 0);
  EXPECT_TRUE(SameBytes(ReadFile(M("kept")), data));
  // The written file becomes a shadow in the background after its upload (and the read above
  // may have been served from the kernel's cache): wait until the mount shows it whole.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string shown;
  bool whole = false;
  do {
    CommandResult r = RunCommand({ShadowfsBinary(), "shadow", "show", M("kept"), "--json"});
    shown = r.output;
    whole = r.exit_code == 0 && shown.find("\"complete\":true") != std::string::npos;
    if (!whole) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  } while (!whole && std::chrono::steady_clock::now() < deadline);
  ASSERT_TRUE(whole) << "no whole shadow of kept: " << shown;
  // The control: put in the primary directly and never read, so it has no shadow.
  ASSERT_EQ(WriteFile(P("cold"), data), 0);
  int kept = ::open(M("kept").c_str(), O_RDONLY);
  int cold = ::open(M("cold").c_str(), O_RDONLY);
  ASSERT_GE(kept, 0);
  ASSERT_GE(cold, 0);
  ASSERT_EQ(::unlink(P("kept").c_str()), 0);
  ASSERT_EQ(::unlink(P("cold").c_str()), 0);
  auto read_all = [&](int fd) -> std::string {
    // Drop the kernel's cached pages so the read has to reach shadowfs.
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    std::string got(data.size(), '\0');
    size_t done = 0;
    while (done < got.size()) {
      ssize_t n = ::pread(fd, got.data() + done, got.size() - done, static_cast<off_t>(done));
      if (n <= 0) return "<errno " + std::to_string(errno) + ">";
      done += static_cast<size_t>(n);
    }
    return got;
  };
  EXPECT_TRUE(SameBytes(read_all(kept), data));
  EXPECT_NE(read_all(cold), data) << "the control read must fail: the primary is really gone";
  ::close(kept);
  ::close(cold);
}

TEST_F(FuseLocalTest, UnmountFinishesAndMountAgainSeesEverything) {
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(WriteFile(M("u" + std::to_string(i)), Pattern(100000, i)), 0);
  }
  ASSERT_TRUE(mount_.Unmount());
  EXPECT_FALSE(IsMountedAs(dirs_.mnt));
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(SameBytes(ReadFile(P("u" + std::to_string(i))), Pattern(100000, i)));
  ShadowfsMount again(dirs_.mnt, dirs_.MountArgs(), dirs_.log);
  ASSERT_TRUE(again.Start());
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(SameBytes(ReadFile(M("u" + std::to_string(i))), Pattern(100000, i)));
}

}  // namespace
}  // namespace shadowfs::testing
