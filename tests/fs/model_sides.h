// The two sides of the FileSystem model test (file_system_model_test.cc): the operations it
// draws, what one side answered, and the two implementations that run them: PosixSide (a local
// directory through syscalls) and FsSide (FileSystem over a BlobStore, driven the way the kernel
// would drive it). Single-threaded test code.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/file_system.h"

namespace shadowfs::fs::model {

enum class OpKind {
  kMkdir,
  kCreateWrite,  // open(O_CREAT | O_TRUNC), writes, close
  kOverwrite,    // open(O_RDWR) an existing file, writes (and a read back), close
  kRead,         // open, read the whole file, close
  kTruncate,
  kRename,
  kUnlink,
  kRmdir,
  kReadDir,
  kStat,
  kChmod,
  kAdvanceClock,  // FileSystem side only: the fake clock moves on
  kRemount,       // FileSystem side only: a new FileSystem (and store) over the same primary
};
inline constexpr int kNumOpKinds = static_cast<int>(OpKind::kRemount) + 1;

// One pwrite: `size` bytes derived from `seed` at `offset`.
struct Write {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint32_t seed = 0;
};
std::string WriteData(const Write& w);

struct Op {
  OpKind kind = OpKind::kStat;
  std::string path;   // relative to the root, "" is the root
  std::string path2;  // rename target
  std::vector<Write> writes;
  uint64_t size = 0;   // truncate size, read chunk, readdir reply size, clock step (ms)
  uint64_t size2 = 0;  // overwrite: length of the range read back before close
  uint32_t mode = 0;
  bool flag = false;  // see the generator
  bool skipped = false;
  std::string ToString() const;
};

// Whether `a` is a proper ancestor directory path of `b` ("a" of "a/b").
bool IsStrictAncestor(const std::string& a, const std::string& b);

// What one side answered: a status code and, for data-returning operations, a rendering of the
// data (file contents, a listing, attributes).
struct Outcome {
  base::StatusCode code = base::StatusCode::kOk;
  std::string value;
  bool operator==(const Outcome& o) const { return code == o.code && value == o.value; }
  std::string ToString() const;  // long values abbreviated to size and a hash
};

class PosixSide {
 public:
  explicit PosixSide(std::string root) : root_(std::move(root)) {}
  Outcome Run(const Op& op);
  // Every path under the root with its kind, mode, size and a hash of its contents.
  Outcome Tree();
  // Every path under the root, with whether it is a directory.
  std::vector<std::pair<std::string, bool>> Paths();

 private:
  std::string Abs(const std::string& path) const {
    return path.empty() ? root_ : root_ + "/" + path;
  }
  void TreeOf(const std::string& path, std::string* out);
  const std::string root_;
};

class FsSide {
 public:
  FsSide(blobstore::BlobStore* primary, base::Runtime runtime, base::FakeClock* clock,
         std::string store_root);
  ~FsSide();
  // Destroys the FileSystem and the store, then opens both again: the store in the same
  // directory if `keep_store`, else in a fresh one.
  base::Status Mount(bool keep_store);
  Outcome Run(const Op& op);
  Outcome Tree();

 private:
  // The inode of `path`, as the kernel's path walk finds it. Every lookup is held until the
  // operation ends (Forget in ForgetHeld).
  base::Result<InodeId> Walk(const std::string& path);
  base::Result<std::pair<InodeId, std::string>> WalkParent(const std::string& path);
  base::Result<InodeId> LookupHeld(InodeId parent, const std::string& name);
  void ForgetHeld();
  base::Status CreateWrite(const Op& op);
  base::Result<std::string> Overwrite(const Op& op);
  base::Result<std::string> ReadAll(InodeId ino, uint64_t chunk);
  base::Result<std::string> List(InodeId dir, bool plus, uint64_t per_reply);
  base::Result<std::string> Stat(InodeId ino);
  base::Status Close(HandleId h);
  base::Status TreeOf(InodeId dir, const std::string& path, std::string* out);

  blobstore::BlobStore* const primary_;
  const base::Runtime runtime_;
  base::FakeClock* const clock_;
  const std::string store_root_;
  int generation_ = 0;
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<FileSystem> fs_;
  std::vector<InodeId> held_;
  const uint32_t umask_;
};

}  // namespace shadowfs::fs::model
