#include "fs/errno_map.h"

#include <cerrno>

namespace shadowfs::fs {

int ErrnoFromStatus(const base::Status& status) {
  using base::StatusCode;
  switch (status.code()) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    // Someone else changed the object under us: the file handle's view is stale, as on NFS.
    // NotModified is not an answer the filesystem gives; it too reads as a stale view rather
    // than success.
    case StatusCode::kConflict:
    case StatusCode::kNotModified:
      return ESTALE;
    // The core says PermissionDenied for operations the object store cannot represent (hard
    // links) and for a primary that refuses us; both read best as "Operation not permitted"
    // (ln(1) prints exactly that for filesystems without hard links). Mode-bit checks are the
    // kernel's (default_permissions) and yield EACCES there, before we are asked.
    case StatusCode::kPermissionDenied:
      return EPERM;
    case StatusCode::kNoSpace:
      return ENOSPC;
    case StatusCode::kInvalidArgument:
      return EINVAL;
    case StatusCode::kNotSupported:
      return ENOTSUP;
    case StatusCode::kNotEmpty:
      return ENOTEMPTY;
    case StatusCode::kIsDirectory:
      return EISDIR;
    case StatusCode::kNotDirectory:
      return ENOTDIR;
    case StatusCode::kNameTooLong:
      return ENAMETOOLONG;
    // The primary is unreachable or timed out: an I/O error is what applications handle (EIO
    // makes cp/rsync report and stop); ETIMEDOUT confuses tools that expect it only of sockets.
    case StatusCode::kUnavailable:
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
      return EIO;
  }
  return EIO;
}

}  // namespace shadowfs::fs
