// FileData: the contents of one regular file while it has open handles (one per inode, shared by
// its handles). Reads come from, in order: data staged by a writer of this file, a shadow that
// passes the store's serving rule, the primary (ranged GETs pinned with If-Match to the version
// opened, with an adaptive readahead window that grows on sequential access and resets on random
// access, and read-through into a partial shadow). Writes go to a staging file in the store
// (STORE/staging/); for an existing object opened without O_TRUNC the untouched base chunks are
// fetched lazily: when read, or all at once before a commit. Commit hands the staged file to the
// Uploader.
//
// Every Read reports an AccessEvent to the AccessSink (no lock, no syscall).
//
// Thread-safe: reads run in parallel with each other; writes, truncates and commits of one file
// serialize with each other and with reads of the ranges they change. No lock is held across a
// request to the primary or an fsync.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "blobstore/base/executor.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/file_system.h"
#include "predict/access_event.h"

namespace shadowfs::fs {

class Uploader;
class LookupBodies;
class ReadaheadBudget;
class ReadMetrics;

// One version of a file's object, as the namespace knows it.
struct FileVersion {
  std::string key;      // the primary key
  bool exists = false;  // false: a new file that has never been committed
  std::string etag;
  std::string version_id;
  uint64_t size = 0;
  base::WallTime last_modified{};
  blobstore::UserMetadata metadata;  // POSIX attributes and xattrs (fs/object_meta.h)
};

// What FileData needs from the mount; every pointer outlives the FileData.
struct FileDataDeps {
  blobstore::BlobStore* primary = nullptr;
  shadow::ShadowStore* store = nullptr;
  Uploader* uploader = nullptr;
  ReadaheadBudget* readahead_budget = nullptr;  // shared by every open file of the mount
  // Runs background readahead fetches and read-through fills for every open file of the mount
  // (a bounded pool, so open files cost no threads of their own).
  base::Executor* background = nullptr;
  predict::AccessSink* access = nullptr;  // may be null
  ReadMetrics* read_metrics = nullptr;    // may be null
  const FileSystemOptions* options = nullptr;
  base::Runtime runtime{};
  // Small objects a lookup just fetched, read before the primary (may be null).
  LookupBodies* lookup_bodies = nullptr;
  // Prefetches under way: a read the shadow cannot serve yet waits for one of its file before
  // it asks the primary (at most options->join_fetch_for; may be null).
  base::FetchJoin* fetches = nullptr;
};

class FileData {
 public:
  // Opens `base` (exists == false for a new file). With `truncate` the file starts empty and
  // dirty. If the shadow of `base` is below min_confidence, revalidates it once here with
  // If-None-Match (a 304 restores its confidence); if the primary has moved on, `base` is
  // replaced by the current version, which is what version() then reports.
  static base::Result<std::unique_ptr<FileData>> Open(FileDataDeps deps, FileVersion base,
                                                      bool truncate, std::string process_name);
  ~FileData();  // discards uncommitted staged data (the kernel flushes before it releases)
  FileData(const FileData&) = delete;
  FileData& operator=(const FileData&) = delete;

  // Fills `out` from `offset`; fewer bytes only at the end of the file. A version that changed
  // on the primary while open (a 412 on a ranged GET) is Conflict.
  base::Result<size_t> Read(uint64_t offset, std::span<char> out);
  // The kernel keeps its page cache of this file across this open (keep_cache), so reads it
  // serves from there never reach Read: reports the open itself to the prediction engine (an
  // access event of length 0), unless a read was reported already.
  void ReportCachedOpen();
  base::Result<size_t> Write(uint64_t offset, std::string_view data);
  base::Status Truncate(uint64_t size);

  uint64_t size() const;            // including staged writes
  bool dirty() const;               // staged changes not yet committed
  bool served_from_shadow() const;  // the last read was served from a shadow
  FileVersion version() const;      // the committed version this file's data is based on
  std::string key() const;          // the object's key (it changes with a rename)

  // Makes staged changes durable: uploads them with `metadata` (or, in writeback mode, makes
  // them durable locally and queues the upload) and returns the version now current. Clean
  // files return version() without a request. A conflict is resolved by the policy; under
  // `fail` it is IOError.
  base::Result<FileVersion> Commit(const blobstore::UserMetadata& metadata);

  // The file was renamed while open (itself or a parent directory): later commits go to `key`.
  void SetKey(std::string key);

  struct Impl;

 private:
  explicit FileData(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The memory that readahead buffers of all open files may hold together. Thread-safe.
class ReadaheadBudget {
 public:
  explicit ReadaheadBudget(uint64_t bytes) : limit_(bytes) {}
  // Takes up to `want` bytes (possibly 0 when exhausted); give back with Release.
  uint64_t Acquire(uint64_t want);
  void Release(uint64_t bytes);
  uint64_t in_use() const;

 private:
  const uint64_t limit_;
  mutable base::Mutex mu_;
  uint64_t used_ GUARDED_BY(mu_) = 0;
};

}  // namespace shadowfs::fs
