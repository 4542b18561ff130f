// Small POSIX helpers shared by ShadowWriter and ShadowFile: whole-buffer pread/pwrite that
// retry on EINTR and short transfers, and the fsync calls the commit protocol depends on.
// Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "blobstore/base/result.h"

namespace shadowfs::shadow::io {

// Fills `out` from `offset`. Corruption if the file ends first: callers only read ranges that
// the file's own header or index said exist, so a short file is a damaged file.
base::Status PreadFull(int fd, std::span<char> out, uint64_t offset, std::string_view what);
base::Status PwriteFull(int fd, std::span<const char> data, uint64_t offset, std::string_view what);
base::Status Fsync(int fd, std::string_view what);
base::Status Fdatasync(int fd, std::string_view what);
// Makes a rename or unlink in `dir` durable.
base::Status FsyncDir(const std::string& dir);
base::Result<uint64_t> FileSize(int fd, std::string_view what);
// "a/b/c.shadow" -> "a/b"; "c.shadow" -> ".".
std::string DirName(const std::string& path);

}  // namespace shadowfs::shadow::io
