// A file larger than 256 MiB through a real mount: written in 1 MiB writes, read back
// sequentially and at scattered offsets, and byte-identical in the primary after close.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/fs/fuse_test_util.h"
#include "tests/fs/mount_fixture.h"

namespace shadowfs::testing {
namespace {

constexpr size_t kBlock = 1 << 20;
constexpr size_t kBlocks = 300;  // 300 MiB

// Block i of the file: a pattern seeded by i, so any misplaced block shows.
std::string Block(size_t i) { return Pattern(kBlock, static_cast<uint32_t>(i + 1)); }

// Compares the file at `path` against the blocks; the first mismatching block, or -1.
long FirstBadBlock(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return 0;
  std::string buf(kBlock, '\0');
  for (size_t i = 0; i < kBlocks; ++i) {
    size_t done = 0;
    while (done < kBlock) {
      ssize_t n =
          ::pread(fd, buf.data() + done, kBlock - done, static_cast<off_t>(i * kBlock + done));
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    if (done != kBlock || buf != Block(i)) {
      ::close(fd);
      return static_cast<long>(i);
    }
  }
  ::close(fd);
  return -1;
}

TEST(FuseLargeTest, ThreeHundredMebibyteFileRoundTrips) {
  MountDirs dirs;
  ShadowfsMount mount(dirs.mnt, dirs.MountArgs(), dirs.log);
  ASSERT_TRUE(mount.Start());
  std::string path = dirs.mnt + "/big";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  for (size_t i = 0; i < kBlocks; ++i) {
    std::string block = Block(i);
    ASSERT_EQ(::write(fd, block.data(), block.size()), static_cast<ssize_t>(block.size()));
  }
  ASSERT_EQ(::close(fd), 0);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), kBlock * kBlocks);
  EXPECT_EQ(FirstBadBlock(dirs.primary + "/big"), -1) << "in the primary";
  EXPECT_EQ(FirstBadBlock(path), -1) << "through the mount";

  // Scattered reads that straddle block boundaries.
  fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  for (size_t i : {size_t{1}, size_t{77}, size_t{150}, size_t{298}}) {
    std::string got(100, '\0');
    off_t off = static_cast<off_t>((i + 1) * kBlock - 50);
    ASSERT_EQ(::pread(fd, got.data(), got.size(), off), 100);
    EXPECT_EQ(got, Block(i).substr(kBlock - 50) + Block(i + 1).substr(0, 50)) << "at " << off;
  }
  ::close(fd);
  EXPECT_TRUE(mount.Unmount());
}

}  // namespace
}  // namespace shadowfs::testing
