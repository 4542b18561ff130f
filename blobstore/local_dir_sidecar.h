// SidecarStore: where LocalDirBlobStore keeps what a file cannot carry (ETag, user metadata,
// content type, marker status), one small JSON file per key under ROOT/.shadowfs/meta/, named by
// the SHA-256 of the key so that any key fits and no two keys collide however their paths nest.
//
// A sidecar holds records keyed by inode, not one record per key: a record describes the data
// only while the file at the key still has that inode (and, for files, that size, mtime and
// ctime). That is what makes Put crash-safe: the new file's record is written before the rename
// and the old one dropped after it, so whichever inode a crash leaves at the key finds its own
// record and never another version's ETag or metadata.
//
// Thread-safe for reads; callers serialize writes of one key (LocalDirBlobStore's key locks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/blob_store.h"
#include "blobstore/local_dir_paths.h"

namespace shadowfs::blobstore::localdir {

struct SidecarRecord {
  uint64_t ino = 0;
  bool is_dir = false;
  // A directory shadowfs created only to hold a child: it vanishes with its last child.
  bool implicit_dir = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;  // for a directory marker: when it was put
  int64_t ctime_ns = 0;
  std::string etag;
  std::string content_type;
  UserMetadata metadata;

  // Whether this record still describes `st` exactly: same inode and, for a file, not written
  // since (size, mtime and ctime unchanged; ctime catches tools that restore the mtime).
  bool Describes(const struct stat& st) const;
  // The object this record describes (a marker: size 0, the ETag of empty content).
  ObjectInfo ToInfo(std::string_view key) const;
};

enum class Durability {
  kNone,        // a cache: losing it in a crash only costs recomputing an ETag
  kFile,        // survives a crash if the rename does (it replaces an existing sidecar)
  kFileAndDir,  // survives a crash: the directory entry is synced too
};

class SidecarStore {
 public:
  // Borrows ROOT/.shadowfs/meta and ROOT/.shadowfs/tmp, which must be on one filesystem.
  SidecarStore(int meta_fd, int tmp_fd, TempNamer* namer)
      : meta_fd_(meta_fd), tmp_fd_(tmp_fd), namer_(namer) {}

  // The records of `key`; none if it has no sidecar or the sidecar is unreadable garbage (a
  // crash on a filesystem that does not order data before renames), which costs only a rehash.
  Result<std::vector<SidecarRecord>> Load(std::string_view key) const;
  // Atomically replaces the records of `key` (write a temp file, rename it over). No records
  // removes the sidecar.
  Status Store(std::string_view key, const std::vector<SidecarRecord>& records,
               Durability durability);

  // For tests that lay out what a crash leaves behind.
  static Result<std::string> Encode(std::string_view key,
                                    const std::vector<SidecarRecord>& records);
  static std::vector<SidecarRecord> Decode(std::string_view key, std::string_view text);

 private:
  struct Location {
    std::string dir;   // two hex digits
    std::string file;  // the rest of the hash
  };
  static Location Locate(std::string_view key);
  Status Remove(const Location& where);

  const int meta_fd_;
  const int tmp_fd_;
  TempNamer* const namer_;
};

}  // namespace shadowfs::blobstore::localdir
