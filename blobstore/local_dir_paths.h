// Helpers of LocalDirBlobStore: how a key maps to names beneath the root directory, and the
// POSIX calls the store makes, each returning a Status instead of an errno. Every lookup goes one
// component at a time from a directory descriptor with O_NOFOLLOW, so no symlink is ever followed
// and no key can name anything outside the root. Stateless except TempNamer; all thread-safe.
#pragma once

#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::blobstore::localdir {

using base::Result;
using base::Status;
using base::UniqueFd;

// The store's own area at the top of the root; no key may start with it.
inline constexpr std::string_view kReservedName = ".shadowfs";
// Large files move through memory in pieces of this size.
inline constexpr size_t kIoChunk = size_t{1} << 20;

// A write retries when a concurrent Delete removes the (empty, implicit) directory it is writing
// into; more than this many times in a row means something else keeps removing it.
inline constexpr int kMaxAttempts = 16;

// A key as a path: "a/b/c" is dirs {a, b} + name c; the marker "a/b/" is dirs {a} + name b.
struct LocalKey {
  std::vector<std::string> dirs;
  std::string name;
  bool is_marker = false;
};

// ValidateKey's rules plus what a directory tree cannot represent: an absolute key, empty, "."
// or ".." components, components over NAME_MAX bytes, and keys inside the reserved area.
Result<LocalKey> ParseLocalKey(std::string_view key);

// The marker key of the first n directories of `dirs`: "a/b/" (empty for n == 0).
std::string DirKey(const std::vector<std::string>& dirs, size_t n);

enum class NodeKind { kMissing, kFile, kDir, kSymlink, kOther };
struct Node {
  NodeKind kind = NodeKind::kMissing;
  struct stat st {};
};

// lstat of `name` in `dir_fd`; a missing name (or a vanished directory) is kMissing, not an error.
Result<Node> StatAt(int dir_fd, const std::string& name);

// Opens the directory `name` in `dir_fd` without following a symlink. NotFound if it is missing,
// a symlink or not a directory.
Result<UniqueFd> OpenDirAt(int dir_fd, const std::string& name);

// Opens dirs[0, n) beneath `root_fd`, one component at a time (NotFound as in OpenDirAt).
Result<UniqueFd> OpenDirs(int root_fd, const std::vector<std::string>& dirs, size_t n);

// Opens a regular file for reading without following a symlink and without blocking on a FIFO;
// NotFound unless `name` is a regular file.
Result<UniqueFd> OpenFileAt(int dir_fd, const std::string& name);

Status Fsync(int fd, std::string_view what);
Status WriteAll(int fd, std::string_view data, std::string_view what);
// Reads a whole small file (a sidecar); NotFound if it does not exist.
Result<std::string> ReadSmallFileAt(int dir_fd, const std::string& name);
// MD5 hex of the first `size` bytes of `fd`, read in pieces. IOError if the file is shorter.
Result<std::string> Md5OfFile(int fd, uint64_t size);

int64_t MtimeNs(const struct stat& st);
int64_t CtimeNs(const struct stat& st);
base::WallTime FromNs(int64_t ns);
struct timespec ToTimespec(int64_t ns);

// "'text'", for messages.
std::string Quote(std::string_view text);
// AlreadyExists: a file and a directory would need the same name.
Status Collision(std::string_view file_key, std::string_view other_key);
// PermissionDenied: `path` (in the way of `key`) is a symlink or special file, never touched.
Status NotOurs(std::string_view key, std::string_view path, const Node& node);

// Names for files in the temporary area, unique across threads and processes sharing it.
class TempNamer {
 public:
  TempNamer();
  std::string Next(std::string_view kind);

 private:
  std::string prefix_;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace shadowfs::blobstore::localdir
