// FileSystem: open files (open, create, read, write, flush, fsync, release). One FileData per
// inode while it has open handles; the last release commits what is still staged.
#include <fcntl.h>
#include <sys/stat.h>

#include <fstream>

#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

std::string ProcessName(int32_t pid) {
  if (pid <= 0) return {};
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(in, name);
  return name;
}

namespace {

FileVersion FileVersionOf(const std::string& key, const Inode& inode) {
  const ObjectVersion& v = inode.version;
  return FileVersion{.key = key,
                     .exists = v.exists && !inode.local_only,
                     .etag = v.etag,
                     .version_id = v.version_id,
                     .size = v.size,
                     .last_modified = v.last_modified,
                     .metadata = v.metadata};
}

}  // namespace

HandleId FileSystem::Impl::AddFileHandle(InodeId ino, std::shared_ptr<OpenFile> file, int flags) {
  HandleId h = next_handle++;
  file_handles.emplace(h, FileHandle{ino, std::move(file), flags});
  return h;
}

Result<std::pair<InodeId, std::shared_ptr<OpenFile>>> FileSystem::Impl::FileHandleOf(
    HandleId handle) {
  base::MutexLock lock(&mu);
  auto it = file_handles.find(handle);
  if (it == file_handles.end()) return Status::InvalidArgument("bad file handle");
  return std::make_pair(it->second.ino, it->second.file);
}

Result<std::shared_ptr<OpenFile>> FileSystem::Impl::OpenFileOf(InodeId ino, bool truncate,
                                                               const Caller& caller,
                                                               bool* keep_cache) {
  *keep_cache = false;
  std::string key;
  bool need_head = false;
  {
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr) return Status::NotFound("stale inode");
    if (inode->kind == FileKind::kDirectory) return Status::IsDirectory("is a directory");
    if (inode->kind != FileKind::kRegular) return Status::InvalidArgument("not a regular file");
    if (auto it = open_files.find(ino); it != open_files.end()) {
      std::shared_ptr<OpenFile> of = it->second;
      ++of->handles;
      ++inode->opens;
      if (truncate) {
        of->written = true;
        of->last_change = rt.clock->Now();
        inode->changed_since_open = true;
      }
      *keep_cache = !inode->changed_since_open && inode->etag_at_last_open &&
                    *inode->etag_at_last_open == inode->version.etag;
      return of;
    }
    SHADOWFS_ASSIGN_OR_RETURN(key, KeyOf(*inode));
    need_head =
        !inode->local_only && !inode->unlinked && rt.clock->Monotonic() >= inode->attr_expiry;
  }
  // Close-to-open consistency: a stale inode is revalidated with a HEAD, unless a shadow of the
  // version we know is confident enough to stand for that check (Refresh; the serving rule's
  // threshold: a shadow below it says nothing about whether the primary moved on).
  if (need_head) SHADOWFS_RETURN_IF_ERROR(Refresh(ino, false));
  FileVersion base;
  {
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr) return Status::NotFound("stale inode");
    base = FileVersionOf(key, *inode);
  }
  FileDataDeps deps{.primary = primary,
                    .store = store,
                    .uploader = uploader.get(),
                    .readahead_budget = budget.get(),
                    .background = background.get(),
                    .access = access,
                    .read_metrics = read_metrics.get(),
                    .options = &options,
                    .runtime = rt,
                    .lookup_bodies = &lookup_bodies,
                    .fetches = fetches};
  auto data = FileData::Open(deps, base, truncate, ProcessName(caller.pid));
  if (!data.ok()) {
    base::MutexLock lock(&mu);
    if (data.status().IsNotFound()) versions.Invalidate(key);
    return data.status();
  }
  std::shared_ptr<FileData> shared(std::move(*data));
  base::MutexLock lock(&mu);
  Inode* inode = inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  std::shared_ptr<OpenFile> of;
  if (auto it = open_files.find(ino); it != open_files.end()) {
    of = it->second;  // another open won the race; ours is dropped
  } else {
    of = std::make_shared<OpenFile>();
    of->data = shared;
    open_files.emplace(ino, of);
    FileVersion current = shared->version();
    if (current.exists && current.etag != inode->version.etag) {
      ObjectVersion v{.exists = true,
                      .etag = current.etag,
                      .version_id = current.version_id,
                      .size = current.size,
                      .last_modified = current.last_modified,
                      .content_type = inode->version.content_type,
                      .metadata = current.metadata};
      SetVersion(*inode, v);
      Learn(key, v);  // FileData revalidated and found a newer version
    }
  }
  ++of->handles;
  ++inode->opens;
  if (truncate) {
    of->written = true;
    of->last_change = rt.clock->Now();
    inode->changed_since_open = true;
  }
  *keep_cache = !inode->changed_since_open && inode->etag_at_last_open &&
                *inode->etag_at_last_open == inode->version.etag;
  inode->etag_at_last_open = inode->version.etag;
  inode->changed_since_open = false;
  return of;
}

Status FileSystem::Impl::CommitFile(InodeId ino, const std::shared_ptr<OpenFile>& of) {
  base::MutexLock commit_lock(&of->commit_mu);
  std::string key;
  blobstore::UserMetadata metadata;
  bool dirty;
  ObjectVersion version;
  {
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr || inode->unlinked || inode->parent == 0) return Status::Ok();
    dirty = of->data->dirty() || inode->local_only;
    if (!dirty && !of->attrs_pending) return Status::Ok();
    Attributes attr = AttrOf(*inode);
    metadata = EncodeAttributes(attr, inode->version.metadata);
    SHADOWFS_ASSIGN_OR_RETURN(key, KeyOf(*inode));
    version = inode->version;
    of->attrs_pending = false;
  }
  ObjectVersion committed;
  if (dirty) {
    auto r = of->data->Commit(metadata);
    if (!r.ok()) {
      base::MutexLock lock(&mu);
      of->attrs_pending = true;
      return r.status();
    }
    committed = ObjectVersion{.exists = true,
                              .etag = r->etag,
                              .version_id = r->version_id,
                              .size = r->size,
                              .last_modified = r->last_modified,
                              .content_type = version.content_type,
                              .metadata = r->metadata.empty() ? metadata : r->metadata};
  } else {
    // Only attributes changed since the data was committed: rewrite the metadata in place.
    uploader->WaitForKey(key);
    blobstore::CopyOptions co;
    co.replace_metadata = metadata;
    co.content_type = version.content_type;
    co.source_conditions.if_match = version.etag;
    auto r = primary->Copy(key, key, co);
    if (!r.ok()) {
      base::MutexLock lock(&mu);
      of->attrs_pending = true;
      return r.status();
    }
    committed = VersionFromInfo(*r);
    if (committed.metadata.empty()) committed.metadata = metadata;
  }
  base::MutexLock lock(&mu);
  Inode* inode = inodes.Get(ino);
  if (inode == nullptr) return Status::Ok();
  SetVersion(*inode, committed);
  Learn(key, committed);
  inode->local_only = false;
  inode->changed_since_open = true;
  of->written = false;
  InvalidateDirOf(*inode);
  if (options.writeback) queued_keys.insert(key);
  return Status::Ok();
}

Status FileSystem::Impl::ReleaseFile(InodeId ino, const std::shared_ptr<OpenFile>& of) {
  bool last;
  {
    base::MutexLock lock(&mu);
    last = --of->handles == 0;
  }
  Status st = last ? CommitFile(ino, of) : Status::Ok();
  std::shared_ptr<OpenFile> drop;  // destroyed outside the lock
  base::MutexLock lock(&mu);
  if (of->handles == 0) {
    auto it = open_files.find(ino);
    if (it != open_files.end() && it->second == of) {
      drop = std::move(it->second);
      open_files.erase(it);
    }
  }
  if (Inode* inode = inodes.Get(ino)) {
    if (inode->opens > 0) --inode->opens;
    inodes.MaybeFree(ino);
  }
  return st;
}

Result<OpenResult> FileSystem::Open(InodeId ino, int flags, const Caller& caller) {
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (writes) SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  bool keep = false;
  SHADOWFS_ASSIGN_OR_RETURN(auto of,
                            impl_->OpenFileOf(ino, writes && (flags & O_TRUNC), caller, &keep));
  if (writes && (flags & O_TRUNC) && of->data->size() != 0) {
    Status st = of->data->Truncate(0);
    if (!st.ok()) {
      (void)impl_->ReleaseFile(ino, of);
      return st;
    }
  }
  // The kernel may serve every read of this open from its page cache: the open is the access.
  if (keep && !writes) of->data->ReportCachedOpen();
  if (!writes) impl_->lookup_reads.Opened(of->data->key(), impl_->rt.clock->Monotonic());
  base::MutexLock lock(&impl_->mu);
  return OpenResult{.handle = impl_->AddFileHandle(ino, std::move(of), flags), .keep_cache = keep};
}

Result<std::pair<Entry, OpenResult>> FileSystem::Create(InodeId parent, std::string_view name,
                                                        uint32_t mode, int flags,
                                                        const Caller& caller) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  auto existing = impl_->Resolve(parent, name);
  if (existing.ok()) {
    if (flags & O_EXCL) return Status::AlreadyExists("file exists");
    if (existing->kind == FileKind::kDirectory) return Status::IsDirectory("is a directory");
    Entry e;
    {
      base::MutexLock lock(&impl_->mu);
      e = impl_->Install(parent, name, *existing);
    }
    auto opened = Open(e.attr.ino, flags, caller);
    if (!opened.ok()) {
      Forget(e.attr.ino, 1);
      return opened.status();
    }
    return std::make_pair(e, *opened);
  }
  if (!existing.status().IsNotFound()) return existing.status();
  std::string key;
  InodeId ino;
  base::WallTime now = impl_->rt.clock->Now();
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->ChildKey(parent, name));
    if (Inode* old = impl_->inodes.Child(parent, name)) impl_->inodes.Detach(old->id);
    Inode& inode = impl_->inodes.Attach(parent, name, FileKind::kRegular);
    inode.local_only = true;
    inode.version = ObjectVersion{};
    inode.attr.mode = S_IFREG | (mode & 07777);
    inode.attr.nlink = 1;
    inode.attr.uid = caller.uid;
    inode.attr.gid = caller.gid;
    inode.attr.size = 0;
    inode.attr.atime = inode.attr.mtime = inode.attr.ctime = now;
    inode.attr_expiry = base::MonoTime::max();
    ++inode.lookups;
    ino = inode.id;
  }
  bool keep = false;
  auto of = impl_->OpenFileOf(ino, /*truncate=*/true, caller, &keep);
  base::MutexLock lock(&impl_->mu);
  if (!of.ok()) {
    impl_->inodes.Forget(ino, 1);
    return of.status();
  }
  Inode* inode = impl_->inodes.Get(ino);
  Entry e = impl_->EntryOf(*inode);
  OpenResult r{.handle = impl_->AddFileHandle(ino, std::move(*of), flags)};
  return std::make_pair(e, r);
}

Result<size_t> FileSystem::Read(HandleId handle, uint64_t offset, std::span<char> out) {
  SHADOWFS_ASSIGN_OR_RETURN(auto h, impl_->FileHandleOf(handle));
  return h.second->data->Read(offset, out);
}

Result<size_t> FileSystem::Write(HandleId handle, uint64_t offset, std::string_view data) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  SHADOWFS_ASSIGN_OR_RETURN(auto h, impl_->FileHandleOf(handle));
  SHADOWFS_ASSIGN_OR_RETURN(size_t n, h.second->data->Write(offset, data));
  base::MutexLock lock(&impl_->mu);
  h.second->written = true;
  h.second->last_change = impl_->rt.clock->Now();
  if (Inode* inode = impl_->inodes.Get(h.first)) inode->changed_since_open = true;
  return n;
}

Status FileSystem::Flush(HandleId handle) {
  SHADOWFS_ASSIGN_OR_RETURN(auto h, impl_->FileHandleOf(handle));
  return impl_->CommitFile(h.first, h.second);
}

Status FileSystem::Fsync(HandleId handle, bool) { return Flush(handle); }

Status FileSystem::Release(HandleId handle) {
  InodeId ino;
  std::shared_ptr<OpenFile> of;
  {
    base::MutexLock lock(&impl_->mu);
    auto it = impl_->file_handles.find(handle);
    if (it == impl_->file_handles.end()) return Status::InvalidArgument("bad file handle");
    ino = it->second.ino;
    of = std::move(it->second.file);
    impl_->file_handles.erase(it);
  }
  return impl_->ReleaseFile(ino, of);
}

}  // namespace shadowfs::fs
