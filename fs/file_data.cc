#include "fs/file_data.h"

#include "fs/lookup_bodies.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blobstore/base/logging.h"
#include "fs/file_data_impl.h"
#include "fs/read_metrics.h"
#include "fs/uploader.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

FileVersion VersionFrom(const blobstore::ObjectInfo& info) {
  FileVersion v;
  v.key = info.key;
  v.exists = true;
  v.etag = info.etag;
  v.version_id = info.version_id;
  v.size = info.size;
  v.last_modified = info.last_modified;
  v.metadata = info.metadata;
  return v;
}

Status ReadFd(int fd, uint64_t offset, std::span<char> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::IOError(std::string("cannot read a staged upload: ") + std::strerror(errno));
    if (n == 0) return Status::IOError("a staged upload is shorter than recorded");
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

FileData::FileData(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FileData::~FileData() {
  // Closed: the shadow's pages go back to being the page cache's alone (ShadowStore::Unmap).
  impl_->deps.store->Unmap(key());
}

std::shared_ptr<FileData::Impl::PendingBase> FileData::Impl::OpenPending(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;  // the upload finished (and its file went) in between
  auto p = std::make_shared<PendingBase>();
  p->fd.Reset(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return nullptr;
  p->size = static_cast<uint64_t>(st.st_size);
  return p;
}

Result<std::unique_ptr<FileData>> FileData::Open(FileDataDeps deps, FileVersion base, bool truncate,
                                                 std::string process_name) {
  if (!deps.primary || !deps.store || !deps.options || !deps.readahead_budget || !deps.background) {
    return Status::InvalidArgument("FileData::Open: missing dependencies");
  }
  auto impl = std::make_unique<Impl>(deps);
  Impl& d = *impl;
  d.process_name = std::make_shared<const std::string>(std::move(process_name));
  std::shared_ptr<Impl::PendingBase> pending;
  if (d.deps.uploader) {
    if (auto path = d.deps.uploader->PendingStagingPath(base.key))
      pending = Impl::OpenPending(*path);
  }
  if (pending) {
    base.size = pending->size;
  } else if (base.exists && !truncate && base.size > 0) {
    // A shadow below min_confidence is revalidated once here, so that the reads that follow
    // are served from it (304) or pinned to the version the primary has now.
    auto ctx = d.contexts.Take(0);
    char probe = 0;
    Result<shadow::ShadowRead> r = d.deps.store->Read(base.key, 0, {&probe, 1}, *ctx);
    d.contexts.Return(std::move(ctx));
    if (r.ok() && r->miss == shadow::Miss::kLowConfidence && r->etag == base.etag) {
      Result<blobstore::ObjectInfo> head =
          d.deps.primary->Head(base.key, {.if_match = "", .if_none_match = base.etag});
      base::WallTime now = d.deps.runtime.clock->Now();
      if (head.status().IsNotModified()) {
        (void)d.deps.store->Verify(base.key, base.etag, now);
      } else if (head.ok()) {
        (void)d.deps.store->Verify(base.key, head->etag, now);  // drops the stale shadow
        FileVersion fresh = VersionFrom(*head);
        fresh.key = base.key;
        base = std::move(fresh);
      } else if (head.status().code() == base::StatusCode::kNotFound) {
        (void)d.deps.store->ObserveDeleted(base.key, now);
        return Status::NotFound(base.key + ": deleted on the primary");
      } else {
        return head.status();
      }
    }
  }
  {
    base::MutexLock lock(&d.mu_);
    d.key_ptr = std::make_shared<const std::string>(base.key);
    d.etag_ptr = std::make_shared<const std::string>(base.etag);
    d.size = truncate ? 0 : base.size;
    d.pending = pending;
    d.version = std::move(base);
  }
  const FileSystemOptions& o = *d.deps.options;
  Impl* self = impl.get();
  d.readahead = std::make_unique<Readahead>(
      d.deps.readahead_budget, d.deps.background, o.readahead_initial, o.readahead_max,
      d.deps.store->chunk_size(),
      [self](uint64_t off, uint64_t len) { return self->FetchPrimary(off, len); },
      [self](uint64_t off, const std::string& data) { self->ReadThrough(off, data); });
  auto fd = std::unique_ptr<FileData>(new FileData(std::move(impl)));
  if (truncate) {
    base::MutexLock lock(&fd->impl_->writer_mu_);
    SHADOWFS_RETURN_IF_ERROR(fd->impl_->EnsureStaging());
    SHADOWFS_RETURN_IF_ERROR(fd->impl_->staging->Truncate(0));
    base::MutexLock state(&fd->impl_->mu_);
    fd->impl_->dirty = true;
  }
  return fd;
}

Result<std::string> FileData::Impl::FetchPrimary(uint64_t offset, uint64_t length) {
  Snapshot s = Snap();
  std::string buf(length, '\0');
  blobstore::BufferSink sink(buf);
  blobstore::GetOptions get;
  get.range = blobstore::ByteRange::Span(offset, length);
  get.conditions.if_match = s.version.etag;
  Result<blobstore::GetResult> r = deps.primary->Get(s.version.key, get, sink);
  if (!r.ok()) {
    if (r.status().code() == base::StatusCode::kConflict) {
      return Status::Conflict(s.version.key + " changed on the primary while open");
    }
    return r.status();
  }
  buf.resize(r->length);
  return buf;
}

void FileData::Impl::ReadThrough(uint64_t offset, const std::string& data) {
  if (!deps.options->read_through || data.empty()) return;
  Snapshot s = Snap();
  if (s.pending || !s.version.exists) return;
  // Never replace the shadow of another version: it may be newer than the one open here.
  if (auto info = deps.store->Find(s.version.key); info && info->etag != s.version.etag) return;
  shadow::FillOptions fill;
  fill.origin = shadow::Origin::kRead;
  fill.version_id = s.version.version_id;
  fill.valid_from = s.version.last_modified;
  // NoSpace (or anything else) only means the bytes are not cached.
  (void)deps.store->Fill(s.version.key, s.version.etag, s.version.size, offset, data, fill);
}

Result<bool> FileData::Impl::Revalidate(const FileVersion& v) {
  Result<blobstore::ObjectInfo> head =
      deps.primary->Head(v.key, {.if_match = "", .if_none_match = v.etag});
  base::WallTime now = deps.runtime.clock->Now();
  if (head.status().IsNotModified()) {
    SHADOWFS_RETURN_IF_ERROR(deps.store->Verify(v.key, v.etag, now).status());
    return true;
  }
  if (head.ok()) {
    (void)deps.store->Verify(v.key, head->etag, now);
    return Status::Conflict(v.key + " changed on the primary while open");
  }
  return head.status();
}

Result<size_t> FileData::Impl::ReadBase(uint64_t offset, std::span<char> out, bool direct,
                                        bool* from_shadow, bool* reported) {
  Snapshot s = Snap();
  const uint64_t size = s.pending ? s.pending->size : s.version.size;
  if (offset >= size) return size_t{0};
  out = out.first(std::min<uint64_t>(out.size(), size - offset));
  if (s.pending) {
    SHADOWFS_RETURN_IF_ERROR(ReadFd(s.pending->fd.get(), offset, out));
    return out.size();
  }
  if (!s.version.exists) return size_t{0};
  bool joined = false;
  bool revalidated = false;
  for (;;) {
    auto ctx = contexts.Take(offset);
    Result<shadow::ShadowRead> r = deps.store->Read(s.version.key, offset, out, *ctx);
    contexts.Return(std::move(ctx));
    if (!r.ok()) break;
    const bool ours = r->etag == s.version.etag;
    if (ours && r->miss == shadow::Miss::kNone && r->bytes == out.size()) {
      *from_shadow = true;
      return out.size();
    }
    // Not in the shadow yet: a prefetch of the file under way may be bringing it, sooner than a
    // GET of ours would. Waited for once.
    const bool absent =
        r->miss == shadow::Miss::kNoShadow || (r->miss == shadow::Miss::kPartial && ours);
    if (absent && !joined && deps.fetches != nullptr) {
      joined = true;
      if (deps.fetches->AwaitFetch(s.version.key, deps.options->join_fetch_for)) continue;
    }
    if (!ours || r->miss != shadow::Miss::kLowConfidence || revalidated) break;
    revalidated = true;
    SHADOWFS_ASSIGN_OR_RETURN(bool fresh, Revalidate(s.version));
    if (!fresh) break;
  }
  if (deps.lookup_bodies != nullptr) {
    // The lookup fetched the whole object; its shadow is still being written.
    std::optional<size_t> n = deps.lookup_bodies->Read(s.version.key, s.version.etag, offset, out);
    if (n && *n == out.size()) return out.size();
  }
  if (reported != nullptr) {
    Report(offset, out.size(), /*from_shadow=*/false, s);
    *reported = true;
  }
  if (direct) {
    SHADOWFS_ASSIGN_OR_RETURN(std::string data, FetchPrimary(offset, out.size()));
    if (data.size() < out.size()) return Status::IOError("the primary returned a short body");
    std::memcpy(out.data(), data.data(), out.size());
    return out.size();
  }
  return readahead->Read(offset, out, size);
}

void FileData::Impl::Report(uint64_t offset, uint64_t length, bool from_shadow,
                            const Snapshot& snap) {
  if (length == 0) return;  // at or past the end: nothing was read
  served_from_shadow.store(from_shadow, std::memory_order_relaxed);
  if (!deps.access) return;
  predict::AccessEvent e = Event(snap);
  e.offset = offset;
  e.length = length;
  e.from_shadow = from_shadow;
  e.first_read = !reported_read.exchange(true, std::memory_order_relaxed);
  deps.access->Record(e);
}

predict::AccessEvent FileData::Impl::Event(const Snapshot& snap) const {
  predict::AccessEvent e;
  e.key = snap.key;
  e.process_name = process_name;
  e.time = deps.runtime.clock->Now();
  e.etag = snap.etag;
  e.object_size = snap.version.size;
  return e;
}

void FileData::ReportCachedOpen() {
  Impl& d = *impl_;
  if (!d.deps.access || d.reported_read.exchange(true, std::memory_order_relaxed)) return;
  predict::AccessEvent e = d.Event(d.Snap());  // no range: length 0
  e.first_read = true;
  d.deps.access->Record(e);
}

Result<size_t> FileData::Read(uint64_t offset, std::span<char> out) {
  Impl& d = *impl_;
  const base::MonoTime start = d.deps.runtime.clock->Monotonic();
  bool staged;
  uint64_t size;
  {
    base::MutexLock lock(&d.mu_);
    staged = d.dirty;
    size = d.size;
  }
  bool from_shadow = false;
  bool reported = false;
  Result<size_t> result = size_t{0};
  if (staged) {
    base::MutexLock lock(&d.writer_mu_);
    if (d.staging) {
      size = d.staging->size();
      if (offset >= size) {
        result = size_t{0};
      } else {
        out = out.first(std::min<uint64_t>(out.size(), size - offset));
        for (uint32_t i : d.staging->MissingChunks(offset, out.size())) {
          SHADOWFS_RETURN_IF_ERROR(d.FetchBaseChunk(i));
        }
        SHADOWFS_RETURN_IF_ERROR(d.staging->Read(offset, out));
        result = out.size();
      }
    } else {
      staged = false;  // committed in between
    }
  }
  if (!staged) result = d.ReadBase(offset, out, /*direct=*/false, &from_shadow, &reported);
  if (!result.ok() || *result == 0) return result;
  Impl::Snapshot snap = d.Snap();
  if (!reported) d.Report(offset, *result, from_shadow, snap);
  if (d.deps.read_metrics) {
    // A pending upload's staged file stands in for the primary until the upload finishes.
    ReadSource source = from_shadow                         ? ReadSource::kShadow
                        : staged || snap.pending != nullptr ? ReadSource::kStaged
                                                            : ReadSource::kPrimary;
    d.deps.read_metrics->Record(source, *result, d.deps.runtime.clock->Monotonic() - start);
  }
  return result;
}

uint64_t FileData::size() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->size;
}

bool FileData::dirty() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->dirty;
}

bool FileData::served_from_shadow() const {
  return impl_->served_from_shadow.load(std::memory_order_relaxed);
}

FileVersion FileData::version() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->version;
}

std::string FileData::key() const {
  base::MutexLock lock(&impl_->mu_);
  return impl_->version.key;
}

void FileData::SetKey(std::string key) {
  base::MutexLock lock(&impl_->mu_);
  impl_->key_ptr = std::make_shared<const std::string>(key);
  impl_->version.key = std::move(key);
}

}  // namespace shadowfs::fs
