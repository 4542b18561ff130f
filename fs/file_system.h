// FileSystem: the FUSE-free core of a shadowfs mount (DESIGN.md sections 2, 4 and 5). It maps a
// primary's keys under a prefix to files and directories the way s3fs does (one object per file,
// `dir/` markers, POSIX metadata in x-amz-meta-mode/-uid/-gid/-mtime, symlink bodies), keeps an
// inode table, open handles and a directory cache, and runs the read path (staged data > a
// shadow that passes the serving rule > the primary, with readahead and read-through into
// partial shadows) and the write path (staging files, write intents, conditional uploads with a
// conflict policy, asynchronous shadow regeneration).
//
// The methods mirror the FUSE low-level operations. Errors are Status codes, never errno: the
// FUSE adapter (fs/fuse_adapter.cc) maps them in one function. Permission checks are the
// kernel's (the mount uses default_permissions).
//
// Thread-safe: every method may be called from any FUSE worker thread at once. No lock is held
// across a request to the primary, an fsync, or a call into the shadow store.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/prefetch.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/types.h"
#include "predict/access_event.h"

namespace shadowfs::fs {

struct FileSystemOptions {
  std::string prefix;  // key prefix of the filesystem on the primary: "" or "dir/"
  bool read_only = false;

  // Owner and modes of objects that carry no POSIX metadata (written by other tools).
  uint32_t default_uid = 0;
  uint32_t default_gid = 0;
  uint32_t default_file_mode = 0644;
  uint32_t default_dir_mode = 0755;

  // Kernel caching.
  std::chrono::duration<double> entry_timeout{1.0};
  std::chrono::duration<double> attr_timeout{1.0};
  std::chrono::duration<double> negative_timeout{1.0};
  // A directory listing is reused this long, unless a local change invalidates it first.
  std::chrono::milliseconds dir_cache_ttl{1000};
  // Concurrent HEAD requests when a readdirplus needs the metadata of many entries.
  int metadata_parallelism = 32;
  // Object versions remembered across the kernel's Forget (fs/version_cache.h). A lookup,
  // getattr or open of a file whose remembered version a shadow vouches for (same ETag, valid,
  // not expired, confidence >= the store's min_confidence) asks the primary nothing. The limit:
  // another client's change that keeps the ETag (chmod, chown, xattrs: a copy of the object onto
  // itself) is seen once the remembered metadata is older than metadata_ttl (s3fs's stat cache
  // keeps entries 900 s by default too); a change of the content changes the ETag and is seen as
  // soon as the shadow's confidence drops below min_confidence, or after metadata_ttl.
  size_t version_cache_entries = 100000;
  std::chrono::seconds metadata_ttl{900};

  // Renaming a directory copies every object under it; refuse (with a clear error) above this.
  uint64_t max_rename_objects = 10000;

  // Write path.
  ConflictPolicy conflict = ConflictPolicy::kCopy;
  bool writeback = false;  // close returns once staged data is durable locally
  std::string hostname;    // for NAME.conflict-<host>-<time>

  // Read path: the adaptive readahead window for reads from the primary.
  uint64_t readahead_initial = 1ull << 20;
  uint64_t readahead_max = 64ull << 20;
  uint64_t readahead_memory = 256ull << 20;  // across all open files
  // Admit what the read path fetched from the primary into (partial) shadows.
  bool read_through = true;
  // A lookup of a file the mount knows nothing of, by a process that reads the files it looks up,
  // GETs the object's first lookup_read_bytes instead of its HEAD (fs/lookup_reads.h): a small
  // file's lookup and read take one round trip. 0: always a HEAD.
  uint64_t lookup_read_bytes = 64ull << 10;
  // How long a lookup or a read waits for a prefetch of the same file under way
  // (FileSystemDeps::fetches) before it asks the primary itself.
  std::chrono::milliseconds join_fetch_for{2000};
};

struct FileSystemDeps {
  blobstore::BlobStore* primary = nullptr;
  shadow::ShadowStore* store = nullptr;
  predict::AccessSink* access = nullptr;  // may be null: events are not reported
  base::Runtime runtime{};
  // The prefetches under way (the Materializer), which a lookup of the same file waits for
  // rather than asking the primary itself; may be null.
  base::FetchJoin* fetches = nullptr;
};

class FileSystem {
 public:
  // Checks that the primary answers (a one-key listing of the prefix: a missing bucket or bad
  // credentials fail here with a message naming them), probes conditional writes (logging a
  // warning and falling back to compare-before-put where the server ignores them), and replays
  // the write intents a crash or an unmount with the primary down left in the store.
  static base::Result<std::unique_ptr<FileSystem>> Create(FileSystemDeps deps,
                                                          FileSystemOptions options);
  // Finishes pending uploads first (Shutdown with no deadline), then releases everything.
  ~FileSystem();
  FileSystem(const FileSystem&) = delete;
  FileSystem& operator=(const FileSystem&) = delete;

  // Namespace.
  // `caller` names the process looking up (fs/lookup_reads.h); optional.
  base::Result<Entry> Lookup(InodeId parent, std::string_view name, const Caller& caller = {});
  void Forget(InodeId ino, uint64_t nlookup);
  base::Result<Attributes> GetAttr(InodeId ino);
  // `handle` is set when the kernel passes the open file (ftruncate, futimens).
  base::Result<Attributes> SetAttr(InodeId ino, const SetAttrRequest& request,
                                   std::optional<HandleId> handle, const Caller& caller);
  base::Result<std::string> ReadLink(InodeId ino);
  base::Result<Entry> MkDir(InodeId parent, std::string_view name, uint32_t mode,
                            const Caller& caller);
  base::Result<Entry> Symlink(std::string_view target, InodeId parent, std::string_view name,
                              const Caller& caller);
  base::Status Unlink(InodeId parent, std::string_view name);
  base::Status RmDir(InodeId parent, std::string_view name);
  // flags: 0 or RENAME_NOREPLACE (RENAME_EXCHANGE is NotSupported).
  base::Status Rename(InodeId parent, std::string_view name, InodeId new_parent,
                      std::string_view new_name, unsigned flags);
  // Hard links cannot be represented in an object store: always PermissionDenied (EPERM).
  base::Status Link(InodeId ino, InodeId new_parent, std::string_view new_name);

  // Files. `flags` are open(2)'s (O_ACCMODE, O_TRUNC, O_APPEND, ...).
  base::Result<OpenResult> Open(InodeId ino, int flags, const Caller& caller);
  base::Result<std::pair<Entry, OpenResult>> Create(InodeId parent, std::string_view name,
                                                    uint32_t mode, int flags, const Caller& caller);
  // Fills `out` from `offset`; fewer bytes only at the end of the file.
  base::Result<size_t> Read(HandleId handle, uint64_t offset, std::span<char> out);
  base::Result<size_t> Write(HandleId handle, uint64_t offset, std::string_view data);
  // flush and fsync commit the file's staged data (upload, or in writeback mode local
  // durability with the upload queued). A conflict under the `fail` policy is IOError.
  base::Status Flush(HandleId handle);
  base::Status Fsync(HandleId handle, bool datasync);
  base::Status Release(HandleId handle);

  // Directories. ReadDir emits entries from `offset` (0 = the start, "." and ".." first;
  // otherwise an earlier entry's next_offset) until `emit` returns false (the reply is full: that
  // entry was not taken and is not counted as a lookup) or the directory ends.
  base::Result<HandleId> OpenDir(InodeId ino);
  base::Status ReadDir(HandleId handle, uint64_t offset, bool plus,
                       const std::function<bool(const DirEntry&)>& emit);
  base::Status ReleaseDir(HandleId handle);

  base::Result<FsStats> StatFs();

  // Extended attributes, stored in the object's metadata as s3fs stores them. flags:
  // XATTR_CREATE / XATTR_REPLACE. An absent attribute is nullopt / false, not an error.
  base::Status SetXattr(InodeId ino, std::string_view name, std::string_view value, int flags);
  base::Result<std::optional<std::string>> GetXattr(InodeId ino, std::string_view name);
  base::Result<std::vector<std::string>> ListXattr(InodeId ino);
  base::Result<bool> RemoveXattr(InodeId ino, std::string_view name);

  // Stops taking writes and waits for every queued upload until `deadline` (none: until done).
  // Uploads still pending at the deadline stay recorded as write intents for the next mount.
  base::Status Shutdown(std::optional<base::MonoTime> deadline = std::nullopt);

  // The primary answered a request the filesystem did not make (a prefetch's GET) with this
  // version of `version.key`: remembered as a HEAD's answer is, so that a lookup of the key that
  // a confident shadow vouches for needs no request. A different version already known is kept
  // (the two answers may have crossed; the next HEAD or listing settles it).
  void LearnVersion(const blobstore::ObjectInfo& version);
  // A listing of directory `dir_key` ("a/b/") that the filesystem did not ask for (the
  // prediction engine's), sent at `listed_at`, showed whether the directory has a marker. A
  // directory without one is remembered as implicit, as a HEAD of its marker would have been, so
  // that a confident shadow beneath it answers its lookup without a request.
  void LearnDirectory(const std::string& dir_key, bool has_marker, base::MonoTime listed_at);

  struct Stats {
    uint64_t inodes = 0;
    uint64_t open_files = 0;
    uint64_t pending_uploads = 0;
    uint64_t reads_from_shadow = 0;
    uint64_t reads_from_primary = 0;
    uint64_t conflicts = 0;
    // Lookups, getattrs and opens answered without a request because a shadow vouched for the
    // version (see FileSystemOptions::version_cache_entries).
    uint64_t answered_from_shadow = 0;
    // Lookups of files the mount knew nothing of that GET the first bytes instead of the HEAD,
    // for a process that reads what it looks up (FileSystemOptions::lookup_read_bytes).
    uint64_t lookups_read = 0;
    // Lookups of files the mount knew nothing of answered by a prefetch's GET under way
    // (FileSystemDeps::fetches), without a request of their own.
    uint64_t joined_fetches = 0;
    uint64_t known_versions = 0;  // entries of the version cache
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit FileSystem(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::fs
