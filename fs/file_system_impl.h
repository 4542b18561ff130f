// FileSystem::Impl: the state behind fs/file_system.h, shared by the file_system_*.cc files.
// Internal to fs/.
//
// Locking: one namespace mutex `mu` guards the inode table, the directory cache and the handle
// tables; it is never held across a request to the primary, a FileData commit or a call into
// the shadow store. A file's commits are serialized by its OpenFile::commit_mu, taken before
// `mu`. FileData's own locks come after `mu` (size() is read under it).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/base/mutex.h"
#include "fs/dir_cache.h"
#include "fs/file_data.h"
#include "fs/file_system.h"
#include "fs/inode_table.h"
#include "fs/lookup_bodies.h"
#include "fs/lookup_reads.h"
#include "fs/object_meta.h"
#include "fs/read_metrics.h"
#include "fs/uploader.h"
#include "fs/version_cache.h"

namespace shadowfs::fs {

// The data of a regular file while it has open handles: one per inode, shared by its handles.
struct OpenFile {
  std::shared_ptr<FileData> data;
  uint32_t handles = 0;          // guarded by Impl::mu
  bool attrs_pending = false;    // metadata changed while data was staged (Impl::mu)
  bool written = false;          // a local change since the last commit (Impl::mu)
  base::WallTime last_change{};  // of the data (Impl::mu)
  base::Mutex commit_mu;         // lock order: before Impl::mu
};

// What a name resolves to on the primary (or locally).
struct Resolved {
  FileKind kind = FileKind::kRegular;
  ObjectVersion version;
  bool from_inode = false;  // the inode's cached state is current: keep it
};

ObjectVersion VersionFromInfo(const blobstore::ObjectInfo& info);
// The name of process `pid` (/proc/PID/comm), "" when unknown.
std::string ProcessName(int32_t pid);

struct FileSystem::Impl {
  Impl(FileSystemDeps deps, FileSystemOptions options);

  // Names and keys.
  static base::Status ValidateName(std::string_view name);
  // "prefix/a/b/" for a directory path "a/b"; the prefix itself for the root.
  std::string DirKey(const std::string& path) const;
  std::string FileKey(const std::string& path) const { return options.prefix + path; }
  // The key of child `name` of directory `parent`: NotFound / NotDirectory / NameTooLong.
  base::Result<std::string> ChildKey(InodeId parent, std::string_view name) REQUIRES(mu);
  base::Result<std::string> KeyOf(const Inode& inode) REQUIRES(mu);

  // Lookup machinery (lookup.cc).
  // `pid`: the process looking up, when known (a lookup that may read, LookupReads).
  base::Result<Resolved> Resolve(InodeId parent, std::string_view name, int32_t pid = 0);
  // HEADs of a directory's marker ("key/") and of a file's object; both record what they learn
  // in `versions`. HeadDirMarker answers a missing marker with a version that does not exist.
  base::Result<ObjectVersion> HeadDirMarker(const std::string& key);
  base::Result<ObjectVersion> HeadFile(const std::string& key);
  // HeadFile by a GET of the object's first lookup_read_bytes; a whole object becomes a shadow.
  base::Result<ObjectVersion> HeadFileByReading(const std::string& key);
  // Records the primary's answer about file `key` (a HEAD's or a GET's) in `versions`, and in a
  // shadow of it: a matching one is verified, another retired.
  base::Result<ObjectVersion> Answered(const std::string& key,
                                       base::Result<blobstore::ObjectInfo> head);
  FileKind KindOf(const ObjectVersion& file_version) const;  // regular or symlink
  Entry Install(InodeId parent, std::string_view name, const Resolved& resolved) REQUIRES(mu);
  void SetVersion(Inode& inode, const ObjectVersion& version) REQUIRES(mu);
  Attributes AttrOf(const Inode& inode) REQUIRES(mu);
  Entry EntryOf(const Inode& inode) REQUIRES(mu);
  // Whether the store holds a shadow of version `etag` of `key` that the serving rule would
  // serve now (valid_from <= now, not expired, confidence >= min_confidence): its own judgement
  // that this version is still the primary's current one, so metadata learned of it less than
  // metadata_ttl ago may answer without a request. Call without `mu`.
  bool ShadowVouches(const std::string& key, const std::string& etag);
  // Whether the store holds a shadow under the directory `dir_key` ("a/b/") that the serving
  // rule would serve now: the directory exists as long as that object does. Looks at the first
  // few shadows under it only. Call without `mu`.
  bool DirectoryVouched(const std::string& dir_key);
  // A directory answered without a request: the marker state learned of `dir_key` less than
  // metadata_ttl ago, when a shadow beneath vouches that the directory still exists.
  std::optional<ObjectVersion> VouchedDirectory(const std::string& dir_key);
  // Records a version the primary just reported (a HEAD, a commit, a metadata copy).
  void Learn(const std::string& key, const ObjectVersion& version) REQUIRES(mu);
  // Re-reads the inode's object unless its attributes are fresh (or `force`), or a shadow vouches
  // for the version it has.
  base::Status Refresh(InodeId ino, bool force);
  base::Result<std::shared_ptr<const Listing>> GetListing(InodeId dir);
  base::Result<Listing> FetchListing(const std::string& dir_key);
  void InvalidateDirOf(const Inode& inode) REQUIRES(mu);
  base::Status CheckWritable() const;
  void WarnOnce(const std::string& key, std::string_view what) REQUIRES(mu);

  // Metadata updates (modify.cc): `mutate` edits the attributes and metadata; they are written
  // to the object (Copy onto itself, or the directory marker) or, for a file with staged data,
  // recorded for its next commit.
  using MetaMutator = std::function<base::Status(Attributes&, blobstore::UserMetadata&)>;
  base::Status UpdateMetadata(InodeId ino, const MetaMutator& mutate);

  // Files (files.cc).
  base::Result<std::shared_ptr<OpenFile>> OpenFileOf(InodeId ino, bool truncate,
                                                     const Caller& caller, bool* keep_cache);
  base::Status CommitFile(InodeId ino, const std::shared_ptr<OpenFile>& file);
  base::Status ReleaseFile(InodeId ino, const std::shared_ptr<OpenFile>& file);
  HandleId AddFileHandle(InodeId ino, std::shared_ptr<OpenFile> file, int flags) REQUIRES(mu);
  base::Result<std::pair<InodeId, std::shared_ptr<OpenFile>>> FileHandleOf(HandleId handle);

  // Directories with children that exist only here (created, or queued for upload).
  bool HasLocalChildren(InodeId dir, const std::string& dir_key);

  blobstore::BlobStore* const primary;
  shadow::ShadowStore* const store;
  predict::AccessSink* const access;
  base::FetchJoin* const fetches;
  const base::Runtime rt;
  const FileSystemOptions options;
  const MetaDefaults defaults;
  const base::WallTime mount_time;
  std::unique_ptr<ReadaheadBudget> budget;
  std::unique_ptr<ReadMetrics> read_metrics;  // null without a metrics registry
  // Small objects fetched by lookups, until their shadows are written (by `background`, which
  // is declared after it and so joined before it goes).
  LookupBodies lookup_bodies{16u << 20};
  // Readahead fetches and read-through fills of every open file. Declared before open_files, so
  // that it outlives every FileData that submits to it.
  std::unique_ptr<base::ThreadPool> background;
  std::unique_ptr<Uploader> uploader;
  std::unique_ptr<base::ThreadPool> meta_pool;  // readdirplus HEADs
  // The one-key List of a cold lookup, sent while the lookup's thread sends the HEAD. Separate
  // from meta_pool, whose tasks a readdirplus waits for while it may hold FUSE threads.
  std::unique_ptr<base::ThreadPool> lookup_pool;
  // Requests saved, in the metrics registry when there is one (else in `own_counters`):
  // lookups, getattrs and opens a shadow vouched for; cold lookups that read (LookupReads);
  // cold lookups a prefetch under way answered.
  base::Counter* answered_from_shadow = &own_counters[0];
  base::Counter* lookups_read = &own_counters[1];
  base::Counter* joined_fetches = &own_counters[2];
  base::Counter own_counters[3];

  mutable base::Mutex mu;  // lock order: OpenFile::commit_mu, then mu, then FileData's
  InodeTable inodes GUARDED_BY(mu);
  DirCache dir_cache GUARDED_BY(mu);
  VersionCache versions GUARDED_BY(mu);
  LookupReads lookup_reads;
  std::map<InodeId, std::shared_ptr<OpenFile>> open_files GUARDED_BY(mu);
  struct FileHandle {
    InodeId ino;
    std::shared_ptr<OpenFile> file;
    int flags;
  };
  std::map<HandleId, FileHandle> file_handles GUARDED_BY(mu);
  struct DirHandle {
    InodeId ino;
    InodeId parent;
    std::string dir_key;
    std::shared_ptr<const Listing> entries;  // snapshot at opendir: offsets stay stable
  };
  std::map<HandleId, DirHandle> dir_handles GUARDED_BY(mu);
  HandleId next_handle GUARDED_BY(mu) = 1;
  // Keys committed in writeback mode: listed while their upload is pending.
  std::set<std::string, std::less<>> queued_keys GUARDED_BY(mu);
  std::set<std::string, std::less<>> warned GUARDED_BY(mu);
  bool shut_down GUARDED_BY(mu) = false;
};

}  // namespace shadowfs::fs
