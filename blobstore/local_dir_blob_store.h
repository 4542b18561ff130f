// LocalDirBlobStore: a directory as the primary (`file:///absolute/dir`), shadowfs's embedded
// default. The mapping is the natural one, so a user's existing files show up as objects: key
// "a/b/c.txt" is the file ROOT/a/b/c.txt, and the marker key "d/" is the directory ROOT/d.
// The store keeps its own state in ROOT/.shadowfs/ (tmp/ for uploads in progress, meta/ for
// sidecars, see local_dir_sidecar.h); no key may start with ".shadowfs/".
//
// Objects. A regular file is an object; ETag = MD5 of its content, from the sidecar when that
// still describes the file (same inode, size, mtime, ctime), otherwise recomputed from the
// content, keeping user metadata if the inode is unchanged (an in-place edit). Files with no
// sidecar (put there by the user) have empty metadata. last_modified is the file's mtime; the
// store sets it from its Clock when it writes a file.
//
// Directories and markers, as close to S3 as a directory allows:
//  - A directory shadowfs creates only because Put "a/b/c" needs it is *implicit*: like an S3
//    prefix, it is not an object ("a/b/" is not listed and Head says NotFound), and Delete of its
//    last child removes it (and so on up the tree).
//  - A directory created by Put "d/", or found on disk with no sidecar (the user's own), is an
//    *explicit marker*: listed as object "d/" (size 0, ETag of empty content) and kept until
//    Delete "d/". Delete "d/" removes an empty directory, and on a non-empty one only drops the
//    marker (it becomes implicit and vanishes with its last child).
//  - Put "d/" with a non-empty body is InvalidArgument. A key whose place is taken by the other
//    kind (Put "a/b" where "a" is a file, or Put "a" where "a/" is a directory) is AlreadyExists.
//
// Symlinks are never followed and are not objects: they are not listed, reads through them are
// NotFound, and writes onto or through them are PermissionDenied (never replaced), so no key can
// reach outside ROOT. Devices, FIFOs and sockets are likewise invisible. Names that cannot be keys
// (not UTF-8, or deeper than 1024 bytes) are not listed.
//
// Put writes the body to a temp file (computing the MD5 as it goes), fsyncs it, then under the
// key's lock: checks preconditions, writes the sidecar with both the old and the new inode's
// record, renames the file into place, fsyncs the directory, and drops the old record. A crash at
// any point leaves the old or the new object with its own ETag and metadata; Open removes leftover
// temp files when no other store has the directory open.
//
// Thread-safe. Writers of one key (and sidecar rewrites) serialize on a striped per-key lock, held
// across that key's fsyncs but never across another key's or a List; reads take no lock unless
// they find a sidecar out of date. Conditional writes are atomic among the callers of one store
// object; several processes may share a directory, but their conditional writes are not atomic
// with each other's. The whole tree must be one filesystem (a mount point inside ROOT makes Put
// below it NotSupported).
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/unique_fd.h"
#include "blobstore/blob_store.h"
#include "blobstore/local_dir_lister.h"
#include "blobstore/local_dir_paths.h"
#include "blobstore/local_dir_sidecar.h"

namespace shadowfs::blobstore {

class LocalDirBlobStore final : public BlobStore, private localdir::EntryDescriber {
 public:
  // `root` must be an existing directory given by an absolute path. Creates ROOT/.shadowfs/.
  static Result<std::unique_ptr<LocalDirBlobStore>> Open(std::string root, base::Clock* clock);

  Result<ObjectInfo> Head(std::string_view key, const Preconditions& conditions) override;
  using BlobStore::Head;
  Result<GetResult> Get(std::string_view key, const GetOptions& options, ByteSink& sink) override;
  Result<ObjectInfo> Put(std::string_view key, ByteSource& body,
                         const PutOptions& options) override;
  Status Delete(std::string_view key) override;
  Result<ListPage> List(const ListOptions& options) override;
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const CopyOptions& options) override;
  Result<bool> SupportsConditionalWrites() override { return true; }
  std::string Describe() const override { return "file://" + root_; }

  // Where a test can stop the next Puts as a crash would: Put returns IOError at that point and
  // nothing after it runs, not even cleanup.
  enum class CrashPoint { kNone, kAfterStaging, kAfterSidecar, kAfterRename };
  void SetCrashPointForTesting(CrashPoint point) { crash_point_ = point; }

  // Only Open constructs; the tag keeps the constructor out of other hands.
  struct OpenTag {
   private:
    OpenTag() = default;
    friend class LocalDirBlobStore;
  };
  LocalDirBlobStore(OpenTag, std::string root, base::Clock* clock, base::UniqueFd root_fd,
                    base::UniqueFd tmp_fd, base::UniqueFd meta_fd, base::UniqueFd lock_fd);

 private:
  // What is at a key now, opened so that the description and the bytes are of one version.
  struct Found {
    base::UniqueFd fd;
    struct stat st {};
    bool is_dir = false;
  };
  struct Resolved {
    Found found;
    ObjectInfo info;
  };
  class Staged;

  base::Mutex& LockFor(std::string_view key);
  int64_t NowNs() const;

  // Reading (local_dir_blob_store.cc).
  Result<std::optional<Found>> OpenObject(const localdir::LocalKey& k);
  // The object `found` is, or nullopt (an implicit directory). Without `locked`, sets
  // *needs_lock instead of recomputing an ETag; with it, recomputes and caches.
  Result<std::optional<ObjectInfo>> DescribeFound(std::string_view key, const Found& found,
                                                  bool locked, bool* needs_lock);
  Result<std::optional<Resolved>> Resolve(std::string_view key, const localdir::LocalKey& k);
  Result<std::optional<Resolved>> ResolveLocked(std::string_view key, const localdir::LocalKey& k);
  Result<std::optional<ObjectInfo>> DescribeFileEntry(int dir_fd, const std::string& name,
                                                      const std::string& key) override;
  Result<std::optional<ObjectInfo>> DescribeDirEntry(int dir_fd, const std::string& key) override;

  // Writing (local_dir_blob_store_write.cc; markers, parents and Delete in _dirs.cc).
  Result<Staged> StageBody(ByteSource& body);
  Result<ObjectInfo> PutFile(std::string_view key, const localdir::LocalKey& k, ByteSource& body,
                             const UserMetadata& metadata, const std::string& content_type,
                             const Preconditions& conditions);
  Result<ObjectInfo> CommitFile(std::string_view key, const localdir::LocalKey& k, Staged& staged,
                                const localdir::SidecarRecord& record,
                                const Preconditions& conditions);
  Result<ObjectInfo> PutMarker(std::string_view key, const localdir::LocalKey& k,
                               uint64_t body_size, const UserMetadata& metadata,
                               const std::string& content_type, const Preconditions& conditions);
  Result<ObjectInfo> ReplaceMetadata(std::string_view key, const localdir::LocalKey& k,
                                     const CopyOptions& options);
  // Opens (creating as implicit directories) the directories above `k`. NotFound means a
  // concurrent Delete removed one of them meanwhile: start again.
  Result<base::UniqueFd> EnsureParents(std::string_view key, const localdir::LocalKey& k);
  Status CreateImplicitDir(int parent_fd, const std::string& dir_key, const std::string& name);
  void RemoveEmptyImplicitParents(const std::vector<std::string>& dirs);
  bool CrashHere(CrashPoint point) const { return crash_point_.load() == point; }

  const std::string root_;
  base::Clock* const clock_;
  const base::UniqueFd root_fd_;
  const base::UniqueFd tmp_fd_;
  const base::UniqueFd meta_fd_;
  const base::UniqueFd lock_fd_;  // shared flock while open; exclusive briefly to clean tmp/
  localdir::TempNamer namer_;
  localdir::SidecarStore sidecars_;
  std::atomic<CrashPoint> crash_point_{CrashPoint::kNone};
  // Striped key locks. A thread holds at most one at a time, so there is no lock order.
  std::array<base::Mutex, 64> key_locks_;
};

}  // namespace shadowfs::blobstore
