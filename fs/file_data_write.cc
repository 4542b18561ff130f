// FileData's write path: staging, lazy base-chunk fetches, truncate and commit.
#include <algorithm>

#include "blobstore/base/logging.h"
#include "fs/file_data.h"
#include "fs/file_data_impl.h"
#include "fs/uploader.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

Status FileData::Impl::EnsureStaging() {
  if (staging) return Status::Ok();
  Snapshot s = Snap();
  const uint64_t base_size = s.pending ? s.pending->size : (s.version.exists ? s.version.size : 0);
  SHADOWFS_ASSIGN_OR_RETURN(
      staging, StagingFile::Create(deps.store->staging_dir(), deps.store->chunk_size(), base_size,
                                   base_size));
  return Status::Ok();
}

Status FileData::Impl::FetchBaseChunk(uint32_t index) {
  auto [begin, end] = staging->ChunkRange(index);
  std::string buf(end - begin, '\0');
  bool from_shadow = false;
  SHADOWFS_ASSIGN_OR_RETURN(size_t n, ReadBase(begin, buf, /*direct=*/true, &from_shadow));
  if (n < buf.size()) return Status::IOError("the base version of a staged file is short");
  SHADOWFS_RETURN_IF_ERROR(staging->Write(begin, buf));
  staging->MarkValid(index);
  return Status::Ok();
}

Result<size_t> FileData::Write(uint64_t offset, std::string_view data) {
  Impl& d = *impl_;
  base::MutexLock lock(&d.writer_mu_);
  SHADOWFS_RETURN_IF_ERROR(d.EnsureStaging());
  if (!data.empty()) {
    // Only the first and last chunks can be partly covered: those need their base bytes first.
    const uint64_t end = offset + data.size();
    for (uint32_t i : d.staging->MissingChunks(offset, data.size())) {
      auto [b, e] = d.staging->ChunkRange(i);
      if (b >= offset && e <= end) continue;  // wholly overwritten
      SHADOWFS_RETURN_IF_ERROR(d.FetchBaseChunk(i));
    }
    if (Status st = d.staging->Write(offset, data); !st.ok()) {
      if (d.write_error.ok()) d.write_error = st;
      return st;
    }
  }
  base::MutexLock state(&d.mu_);
  d.size = d.staging->size();
  d.dirty = true;
  return data.size();
}

Status FileData::Truncate(uint64_t size) {
  Impl& d = *impl_;
  base::MutexLock lock(&d.writer_mu_);
  SHADOWFS_RETURN_IF_ERROR(d.EnsureStaging());
  SHADOWFS_RETURN_IF_ERROR(d.staging->Truncate(size));
  base::MutexLock state(&d.mu_);
  d.size = size;
  d.dirty = true;
  return Status::Ok();
}

Result<FileVersion> FileData::Commit(const blobstore::UserMetadata& metadata) {
  Impl& d = *impl_;
  base::MutexLock lock(&d.writer_mu_);
  if (!d.staging) return version();
  if (!d.deps.uploader) return Status::NotSupported("this mount cannot upload (read-only)");
  if (!d.write_error.ok()) {
    Status failed(d.write_error.code(),
                  "a write failed, the previous version stays: " + d.write_error.message());
    d.write_error = Status::Ok();
    d.staging.reset();  // removes the staging file
    base::MutexLock state(&d.mu_);
    d.dirty = false;
    d.size = d.pending ? d.pending->size : d.version.size;
    return failed;
  }
  for (uint32_t i : d.staging->AllMissingChunks()) {
    SHADOWFS_RETURN_IF_ERROR(d.FetchBaseChunk(i));
  }
  SHADOWFS_RETURN_IF_ERROR(d.staging->Sync());
  Impl::Snapshot s = d.Snap();
  UploadRequest req;
  req.key = s.version.key;
  req.staging_path = d.staging->path();
  req.size = d.staging->size();
  // A file committed in writeback mode whose upload is still queued has no ETag yet: the
  // Uploader chains this upload after that one (same key, commit order).
  req.create_only = !s.version.exists && !s.pending;
  req.base_etag = s.version.etag;
  req.metadata = metadata;
  d.staging->Release();  // the Uploader owns the file from here, whatever happens
  d.staging.reset();
  Result<UploadResult> up = d.deps.uploader->Upload(std::move(req));
  if (!up.ok()) {
    base::MutexLock state(&d.mu_);
    d.dirty = false;
    d.size = d.pending ? d.pending->size : d.version.size;
    return up.status();
  }
  FileVersion nv;
  nv.key = s.version.key;
  if (up->conflict_copy) {
    // Ours went to the conflict copy; the file now shows theirs.
    Result<blobstore::ObjectInfo> theirs = d.deps.primary->Head(s.version.key);
    if (theirs.ok()) {
      nv.exists = true;
      nv.etag = theirs->etag;
      nv.version_id = theirs->version_id;
      nv.size = theirs->size;
      nv.last_modified = theirs->last_modified;
      nv.metadata = theirs->metadata;
    }
  } else {
    const blobstore::ObjectInfo& c = up->committed;
    nv.exists = true;
    nv.etag = c.etag;
    nv.version_id = c.version_id;
    nv.size = c.size;
    nv.last_modified = c.last_modified;
    nv.metadata = metadata;
  }
  std::shared_ptr<Impl::PendingBase> pending;
  if (up->queued) {
    if (auto path = d.deps.uploader->PendingStagingPath(nv.key)) {
      pending = Impl::OpenPending(*path);
    }
  }
  d.readahead->Reset();
  base::MutexLock state(&d.mu_);
  d.version = nv;
  d.etag_ptr = std::make_shared<const std::string>(nv.etag);
  d.pending = pending;
  d.size = pending ? pending->size : nv.size;
  d.dirty = false;
  return nv;
}

}  // namespace shadowfs::fs
