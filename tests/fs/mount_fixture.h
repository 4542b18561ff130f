// ShadowfsMount: a real `shadowfs mount --foreground` of a test, run as a child process. Start
// waits (polling /proc/self/mountinfo with a deadline) until the kernel shows the mount; the
// destructor always ends it, even after a failed assertion: SIGTERM (the daemon unmounts and
// finishes its uploads), SIGKILL after a deadline, then a lazy unmount if the mount is still
// there. Needs root and /dev/fuse (tests labelled fuse).
//
// Not thread-safe: owned and driven by one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace shadowfs::testing {

// Paths of the binaries under test (compile definitions of the fuse tests).
std::string ShadowfsBinary();
std::string MountHelperBinary();  // the mount.shadowfs symlink next to it

// True if `path` is the mount point of a mount of type `type` (e.g. "fuse.shadowfs").
bool IsMountedAs(const std::string& path, const std::string& type = "fuse.shadowfs");

// Scratch directories for one mount over a local-directory primary: primary/, store/, mnt/ and
// the daemon's log, all removed at the end (after the mount, which is declared later).
struct MountDirs {
  MountDirs();
  // {"mount", "file://PRIMARY", MNT, "--foreground", "--store", STORE, extra...}
  std::vector<std::string> MountArgs(const std::vector<std::string>& extra = {}) const;

  TempDir root{"fuse"};
  std::string primary, store, mnt, log;
};

class ShadowfsMount {
 public:
  // `argv` is the whole command line after the binary, e.g. {"mount", primary, mountpoint,
  // "--foreground", "--store", dir}. The log (stdout and stderr) goes to `log_path`.
  ShadowfsMount(std::string mountpoint, std::vector<std::string> argv, std::string log_path,
                std::map<std::string, std::string> env = {}, std::string binary = "");
  ~ShadowfsMount();
  ShadowfsMount(const ShadowfsMount&) = delete;
  ShadowfsMount& operator=(const ShadowfsMount&) = delete;

  // Starts the process and waits until mounted; a failure carries the daemon's log.
  ::testing::AssertionResult Start(std::chrono::seconds deadline = std::chrono::seconds(60));
  // `shadowfs unmount MOUNTPOINT`, then waits for the daemon's exit; its exit code, or a failure.
  ::testing::AssertionResult Unmount(std::chrono::seconds deadline = std::chrono::seconds(120));
  // kill -9 the daemon and detach the dead mount (what a crash leaves, cleaned up).
  void Crash();
  // Ends the mount whatever its state (the destructor calls it).
  void Stop();

  // The filesystem type Start waits for: "fuse.shadowfs" unless set (e.g. "fuse.s3fs").
  void set_fstype(std::string fstype) { fstype_ = std::move(fstype); }

  pid_t pid() const { return pid_; }
  const std::string& path() const { return mountpoint_; }
  std::string Log() const;
  // Exit status of the daemon once it has exited (waitpid status), -1 before.
  int exit_status() const { return exit_status_; }

 private:
  // Reaps the child if it has exited; true if it has.
  bool Reap(bool block);

  std::string mountpoint_;
  std::vector<std::string> argv_;
  std::string log_path_;
  std::map<std::string, std::string> env_;
  std::string binary_;
  std::string fstype_ = "fuse.shadowfs";
  pid_t pid_ = -1;
  int exit_status_ = -1;
};

}  // namespace shadowfs::testing
