// RunFuseMount: serves a FileSystem through the kernel with the FUSE low-level API. The
// callbacks only decode a request, call the FileSystem, and reply (errors through
// ErrnoFromStatus); everything else is the core's. This header does not include libfuse.
//
// Thread-safety: RunFuseMount blocks the calling thread (the main thread, which must be the one
// that receives SIGTERM/SIGINT/SIGHUP: other threads should block them) until the filesystem is
// unmounted or a signal arrives; FUSE worker threads call the FileSystem concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "blobstore/base/runtime.h"
#include "blobstore/base/status.h"
#include "fs/file_system.h"
#include "fs/mount_point.h"  // CheckMountpoint, for the CLI

namespace shadowfs::fs {

struct FuseMountOptions {
  std::string mountpoint;  // absolute path of an existing directory that is not a mount point
  std::string fsname;      // shown as the source in /proc/mounts: the primary URL
  // Options for the kernel and libfuse, passed through as -o (allow_other, ro, ...).
  // default_permissions, fsname= and subtype=shadowfs are always added.
  std::vector<std::string> fuse_options;
  // How long the kernel caches a getattr answer and the absence of a name.
  std::chrono::duration<double> attr_timeout{1.0};
  std::chrono::duration<double> negative_timeout{1.0};
  // The kernel's readahead for this mount (its bdi's read_ahead_kb), set after mounting when
  // the daemon may (root). The kernel's default of 128 KiB halves sequential read throughput
  // from shadows (tests/bench/README.md); 0 leaves the default.
  uint32_t read_ahead_kb = 1024;
  int max_threads = 64;
  int max_idle_threads = 8;
  bool debug = false;  // libfuse's request trace on stderr
};

// Checks the mount point and /dev/fuse, mounts, installs signal handlers (SIGTERM, SIGINT and
// SIGHUP end the session), calls `on_ready` once the mount is visible, serves requests until
// unmounted or signalled, then unmounts and returns. Mount failures are errors with a message a
// user can act on ("mountpoint busy", "/dev/fuse not available"); `on_ready` is not called then.
base::Status RunFuseMount(FileSystem* fs, const FuseMountOptions& options,
                          const std::function<void()>& on_ready, base::Runtime runtime);

}  // namespace shadowfs::fs
