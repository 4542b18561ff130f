// The one place a Status becomes an errno: the FUSE adapter replies with ErrnoFromStatus of
// whatever the FileSystem core answered. Pure function, thread-safe.
#pragma once

#include "blobstore/base/status.h"

namespace shadowfs::fs {

// 0 for OK; otherwise a positive errno a user of the mount would expect for the failure.
int ErrnoFromStatus(const base::Status& status);

}  // namespace shadowfs::fs
