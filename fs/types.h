// The vocabulary of the FUSE-free filesystem core (fs/file_system.h): inode and handle ids,
// attributes, directory entries and the caller of an operation. Plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "blobstore/base/clock.h"

namespace shadowfs::fs {

// Inode numbers are table ids, never pointers. The root is 1 (FUSE_ROOT_ID); an id is not reused
// while the kernel may still hold it, and a reused slot gets a new generation.
using InodeId = uint64_t;
inline constexpr InodeId kRootInode = 1;
// Open-file and open-directory handles: table ids too.
using HandleId = uint64_t;

enum class FileKind : uint8_t { kRegular, kDirectory, kSymlink };

struct Attributes {
  InodeId ino = 0;
  FileKind kind = FileKind::kRegular;
  uint32_t mode = 0;  // type bits (S_IFREG, S_IFDIR, S_IFLNK) | permission bits
  uint32_t nlink = 1;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  base::WallTime atime{};
  base::WallTime mtime{};
  base::WallTime ctime{};
};

// What lookup, mkdir, symlink and create answer: an inode the kernel now holds one more
// reference to (released by Forget), and how long it may cache the entry and the attributes.
struct Entry {
  Attributes attr;
  uint64_t generation = 0;
  std::chrono::duration<double> entry_timeout{0};
  std::chrono::duration<double> attr_timeout{0};
};

// Who asked: from the FUSE request context.
struct Caller {
  uint32_t uid = 0;
  uint32_t gid = 0;
  int32_t pid = 0;  // the process name for access events is read once, at open
};

struct SetAttrRequest {
  std::optional<uint32_t> mode;  // permission bits only; the type never changes
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size;  // truncate
  std::optional<base::WallTime> atime;
  std::optional<base::WallTime> mtime;
  bool atime_now = false;
  bool mtime_now = false;
};

struct OpenResult {
  HandleId handle = 0;
  // The kernel may keep the file's cached pages: the version opened is the one it cached at the
  // previous open of this inode (same ETag, no local change since).
  bool keep_cache = false;
  bool direct_io = false;
};

struct DirEntry {
  std::string name;
  FileKind kind = FileKind::kRegular;
  InodeId ino = 0;           // 0 when not known without a lookup (plain readdir)
  uint64_t next_offset = 0;  // pass to ReadDir to continue after this entry
  // With ReadDir(plus = true): the looked-up entry. Each one the caller accepts counts as a
  // lookup (the kernel will Forget it).
  std::optional<Entry> entry;
};

struct FsStats {
  uint64_t block_size = 4096;
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_available = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint32_t name_max = 255;
};

enum class ConflictPolicy : uint8_t {
  kLastWriterWins,  // "lww": overwrite what the other writer committed
  kCopy,            // "copy": keep theirs, store ours as NAME.conflict-<host>-<time>
  kFail,            // "fail": the close/fsync fails with EIO; ours is kept in STORE/conflicts
};

}  // namespace shadowfs::fs
