// The mount point and the kernel side of a mount, checked and tuned around RunFuseMount
// (fs/fuse_adapter.h): whether a mount can go there, whether /dev/fuse can be opened, and the
// mount's readahead. Reads /proc/self/mountinfo rather than stat()ing the mount point, which
// would ask the filesystem being mounted. Thread-compatible (no state).
#pragma once

#include <cstdint>
#include <string>

#include "blobstore/base/logging.h"
#include "blobstore/base/status.h"

namespace shadowfs::fs {

// Errors the mount point would cause, checked before mounting (and by the CLI before it forks):
// missing, not a directory, or already a mount point.
base::Status CheckMountpoint(const std::string& mountpoint);

// Whether /dev/fuse can be opened (as root; otherwise fusermount3 opens it): NotSupported with
// what to do when the device is missing.
base::Status CheckDevFuse();

// Sets the mount's bdi read_ahead_kb (0: leave the kernel's default). Best effort: without the
// right to write sysfs the default stays, and that is logged.
void SetReadAhead(const std::string& mountpoint, uint32_t kb, base::Logger& logger);

}  // namespace shadowfs::fs
