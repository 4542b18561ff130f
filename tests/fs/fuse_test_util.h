// Plain-syscall helpers for the real-mount tests: whole-file writes and reads that report errno,
// and deterministic content of any size.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace shadowfs::testing {

// Bytes that differ at every offset and per seed, so misplaced chunks show.
inline std::string Pattern(size_t size, uint32_t seed = 1) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

// 0 or the errno of the first failing call (open, write, fsync or close).
// Relative paths are resolved from `dirfd` (AT_FDCWD: the working directory).
inline int WriteFile(const std::string& path, const std::string& data, bool fsync_it = false,
                     int flags = O_WRONLY | O_CREAT | O_TRUNC, mode_t mode = 0644,
                     int dirfd = AT_FDCWD) {
  int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return err;
    }
    done += static_cast<size_t>(n);
  }
  if (fsync_it && ::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  return ::close(fd) == 0 ? 0 : errno;
}

// The file's content, or "<errno N>" if it cannot be read.
inline std::string ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "<errno " + std::to_string(errno) + ">";
  std::string out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return "<errno " + std::to_string(err) + ">";
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Drops the kernel's cached pages of a file on a mount, so that the next read reaches the
// daemon even when an open keeps the page cache (keep_cache).
inline void DropKernelPageCache(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

// Equality of two byte strings that reports sizes and the first differing offset instead of
// printing megabytes.
inline ::testing::AssertionResult SameBytes(const std::string& got, const std::string& want) {
  if (got == want) return ::testing::AssertionSuccess();
  size_t i = 0;
  while (i < got.size() && i < want.size() && got[i] == want[i]) ++i;
  return ::testing::AssertionFailure()
         << "got " << got.size() << " bytes, want " << want.size() << ", first difference at " << i
         << (got.size() < 64 ? ": got '" + got + "'" : std::string());
}

// `cat` of each path in turn, one process per file, as a shell script reads files: every cat's
// lookup of its path comes from a process named "cat". Their output, concatenated.
inline std::string CatEach(const std::vector<std::string>& paths) {
  std::vector<std::string> argv = {"/bin/sh", "-c", "for f; do cat \"$f\" || exit 1; done", "sh"};
  argv.insert(argv.end(), paths.begin(), paths.end());
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return r.output;
}

}  // namespace shadowfs::testing
