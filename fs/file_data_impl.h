// The private state of FileData, shared by file_data.cc (open, read) and file_data_write.cc
// (write, truncate, commit). Not part of the public API.
//
// Locks, in the order they may be taken:
//   writer_mu_  serializes writes, truncates and commits, and reads while data is staged. Held
//               across base-chunk fetches and the fsync of a commit: it only ever makes other
//               operations on this file's staged data wait, which they must anyway.
//   mu_         the version, sizes and flags; a leaf lock held for copies only.
//   contexts    (ReadContextPool) has its own leaf lock.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "blobstore/base/mutex.h"
#include "blobstore/base/unique_fd.h"
#include "blobstore/shadow/read_context_pool.h"
#include "fs/file_data.h"
#include "fs/readahead.h"
#include "fs/staging_file.h"

namespace shadowfs::fs {

struct FileData::Impl {
  explicit Impl(FileDataDeps d) : deps(std::move(d)) {}

  // The staged file of an upload that has not finished, standing in for the primary.
  struct PendingBase {
    base::UniqueFd fd;
    uint64_t size = 0;
  };

  struct Snapshot {
    FileVersion version;
    std::shared_ptr<PendingBase> pending;
    std::shared_ptr<const std::string> key;
    std::shared_ptr<const std::string> etag;
  };
  Snapshot Snap() const EXCLUDES(mu_) {
    base::MutexLock lock(&mu_);
    return {version, pending, key_ptr, etag_ptr};
  }

  // Reads the base version (pending staged file > shadow > primary) into out, clipped at its
  // end. Through readahead unless `direct` (lazy base-chunk fetches of a writer). With
  // `reported`, a read that goes to the primary is reported (Report) before the primary is
  // asked, and *reported set: the engine's prefetches of what comes next leave a round trip
  // sooner. (A read that then fails was reported all the same: it was asked for.)
  base::Result<size_t> ReadBase(uint64_t offset, std::span<char> out, bool direct,
                                bool* from_shadow, bool* reported = nullptr) EXCLUDES(mu_);
  // A ranged GET of the base version pinned with If-Match.
  base::Result<std::string> FetchPrimary(uint64_t offset, uint64_t length) EXCLUDES(mu_);
  void ReadThrough(uint64_t offset, const std::string& data) EXCLUDES(mu_);
  // Revalidates a low-confidence shadow of version.etag: true if a 304 restored it.
  base::Result<bool> Revalidate(const FileVersion& version);
  static std::shared_ptr<PendingBase> OpenPending(const std::string& path);

  // Writes (file_data_write.cc).
  base::Status EnsureStaging() REQUIRES(writer_mu_);
  base::Status FetchBaseChunk(uint32_t index) REQUIRES(writer_mu_);
  void Report(uint64_t offset, uint64_t length, bool from_shadow, const Snapshot& snap);
  // An access event of this file's version (key, process, time, ETag, size), without a range.
  predict::AccessEvent Event(const Snapshot& snap) const;

  const FileDataDeps deps;
  std::shared_ptr<const std::string> process_name;

  base::Mutex writer_mu_;
  std::unique_ptr<StagingFile> staging GUARDED_BY(writer_mu_);
  // A failed write to the staging file (a full disk) may have left part of it written: the staged
  // data is no longer what the application wrote, so Commit drops it and reports this instead of
  // uploading a short or mixed object over the previous version.
  base::Status write_error GUARDED_BY(writer_mu_);

  mutable base::Mutex mu_ ACQUIRED_AFTER(writer_mu_);
  FileVersion version GUARDED_BY(mu_);
  std::shared_ptr<const std::string> key_ptr GUARDED_BY(mu_);
  // version.etag, shared with access events (a new commit makes a new one).
  std::shared_ptr<const std::string> etag_ptr GUARDED_BY(mu_);
  std::shared_ptr<PendingBase> pending GUARDED_BY(mu_);
  uint64_t size GUARDED_BY(mu_) = 0;  // including staged writes
  bool dirty GUARDED_BY(mu_) = false;
  std::atomic<bool> served_from_shadow{false};
  std::atomic<bool> reported_read{false};  // an access event was reported for this open

  shadow::ReadContextPool contexts;

  // Last: destroyed first, joining its background fetches and fills, which use the above.
  std::unique_ptr<Readahead> readahead;
};

}  // namespace shadowfs::fs
