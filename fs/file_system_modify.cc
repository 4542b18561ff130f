// FileSystem: namespace changes (mkdir, symlink, unlink, rmdir), setattr, readlink, xattrs.
#include <sys/stat.h>
#include <sys/xattr.h>

#include <fcntl.h>

#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

base::WallTime Now(const base::Runtime& rt) { return rt.clock->Now(); }

}  // namespace

Status FileSystem::Impl::UpdateMetadata(InodeId ino, const MetaMutator& mutate) {
  SHADOWFS_RETURN_IF_ERROR(CheckWritable());
  for (int attempt = 0;; ++attempt) {
    SHADOWFS_RETURN_IF_ERROR(Refresh(ino, attempt > 0));
    Attributes attr;
    blobstore::UserMetadata meta;
    std::string key;
    FileKind kind;
    ObjectVersion version;
    {
      base::MutexLock lock(&mu);
      Inode* inode = inodes.Get(ino);
      if (inode == nullptr) return Status::NotFound("stale inode");
      if (ino == kRootInode && options.prefix.empty()) {
        return Status::NotSupported("the root of a bucket has no object to hold attributes");
      }
      attr = AttrOf(*inode);
      meta = inode->version.metadata;
      SHADOWFS_RETURN_IF_ERROR(mutate(attr, meta));
      attr.ctime = Now(rt);
      auto of = open_files.find(ino);
      bool staged = inode->local_only || inode->unlinked ||
                    (of != open_files.end() && of->second->data && of->second->data->dirty());
      if (staged) {
        // Applied by the file's next commit (or never, for an unlinked file).
        inode->attr.mode = attr.mode;
        inode->attr.uid = attr.uid;
        inode->attr.gid = attr.gid;
        inode->attr.atime = attr.atime;
        inode->attr.mtime = attr.mtime;
        inode->attr.ctime = attr.ctime;
        inode->version.metadata = meta;
        if (of != open_files.end()) of->second->attrs_pending = true;
        return Status::Ok();
      }
      SHADOWFS_ASSIGN_OR_RETURN(key, KeyOf(*inode));
      kind = inode->kind;
      version = inode->version;
    }
    blobstore::UserMetadata encoded = EncodeAttributes(attr, meta);
    Result<blobstore::ObjectInfo> written = Status::IOError("unset");
    if (kind == FileKind::kDirectory) {
      blobstore::StringSource empty("");
      written = primary->Put(key, empty,
                             {.metadata = encoded, .content_type = std::string(kDirContentType)});
    } else {
      uploader->WaitForKey(key);
      blobstore::CopyOptions co;
      co.replace_metadata = encoded;
      co.content_type = version.content_type;
      co.source_conditions.if_match = version.etag;
      written = primary->Copy(key, key, co);
      if (!written.ok() && written.status().IsConflict() && attempt == 0) continue;
    }
    if (!written.ok()) return written.status();
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr) return Status::Ok();
    ObjectVersion v = VersionFromInfo(*written);
    if (v.metadata.empty()) v.metadata = encoded;
    if (v.content_type.empty()) v.content_type = version.content_type;
    SetVersion(*inode, v);
    Learn(key, v);  // a directory's key is its marker's
    inode->changed_since_open = true;
    return Status::Ok();
  }
}

Result<Attributes> FileSystem::SetAttr(InodeId ino, const SetAttrRequest& req,
                                       std::optional<HandleId> handle, const Caller& caller) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  if (req.size) {
    std::shared_ptr<OpenFile> file;
    bool temporary = false;
    {
      base::MutexLock lock(&impl_->mu);
      Inode* inode = impl_->inodes.Get(ino);
      if (inode == nullptr) return Status::NotFound("stale inode");
      if (inode->kind == FileKind::kDirectory) return Status::IsDirectory("is a directory");
      if (inode->kind != FileKind::kRegular) return Status::InvalidArgument("not a regular file");
      if (handle) {
        auto it = impl_->file_handles.find(*handle);
        if (it != impl_->file_handles.end()) file = it->second.file;
      }
      if (!file) {
        auto it = impl_->open_files.find(ino);
        if (it != impl_->open_files.end()) file = it->second;
      }
      if (file) {  // held across the truncate
        ++file->handles;
        ++inode->opens;
      }
    }
    if (!file) {
      bool keep = false;
      SHADOWFS_ASSIGN_OR_RETURN(file, impl_->OpenFileOf(ino, *req.size == 0, caller, &keep));
      temporary = true;
    }
    Status st = file->data->Truncate(*req.size);
    {
      base::MutexLock lock(&impl_->mu);
      if (st.ok()) {
        file->written = true;
        file->last_change = impl_->rt.clock->Now();
        if (Inode* inode = impl_->inodes.Get(ino)) inode->changed_since_open = true;
      }
    }
    if (st.ok() && temporary) st = impl_->CommitFile(ino, file);
    Status rel = impl_->ReleaseFile(ino, file);
    SHADOWFS_RETURN_IF_ERROR(st);
    SHADOWFS_RETURN_IF_ERROR(rel);
  }
  bool meta_change =
      req.mode || req.uid || req.gid || req.atime || req.mtime || req.atime_now || req.mtime_now;
  if (meta_change) {
    base::WallTime now = impl_->rt.clock->Now();
    SHADOWFS_RETURN_IF_ERROR(
        impl_->UpdateMetadata(ino, [&](Attributes& attr, blobstore::UserMetadata&) -> Status {
          if (req.mode) attr.mode = (attr.mode & S_IFMT) | (*req.mode & 07777);
          if (req.uid) attr.uid = *req.uid;
          if (req.gid) attr.gid = *req.gid;
          if (req.atime_now) attr.atime = now;
          if (req.atime) attr.atime = *req.atime;
          if (req.mtime_now) attr.mtime = now;
          if (req.mtime) attr.mtime = *req.mtime;
          return Status::Ok();
        }));
  }
  base::MutexLock lock(&impl_->mu);
  const Inode* inode = impl_->inodes.Get(ino);
  if (inode != nullptr && (req.mtime || req.mtime_now)) {
    // An open file's mtime is its last write (AttrOf), until a later utimens sets it: `cp -a`
    // writes, then sets the source's times, then closes.
    auto it = impl_->open_files.find(ino);
    if (it != impl_->open_files.end()) it->second->last_change = inode->attr.mtime;
  }
  if (inode == nullptr) return Status::NotFound("stale inode");
  return impl_->AttrOf(*inode);
}

Result<std::string> FileSystem::ReadLink(InodeId ino) {
  std::string key;
  std::string etag;
  {
    base::MutexLock lock(&impl_->mu);
    const Inode* inode = impl_->inodes.Get(ino);
    if (inode == nullptr) return Status::NotFound("stale inode");
    if (inode->kind != FileKind::kSymlink) return Status::InvalidArgument("not a symlink");
    if (inode->link_target) return *inode->link_target;
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->KeyOf(*inode));
    etag = inode->version.etag;
  }
  SHADOWFS_ASSIGN_OR_RETURN(std::string target, blobstore::GetString(*impl_->primary, key));
  base::MutexLock lock(&impl_->mu);
  if (Inode* inode = impl_->inodes.Get(ino)) inode->link_target = target;
  return target;
}

namespace {

// A name must be free before mkdir / symlink / create put something there.
Status ExpectAbsent(const Result<Resolved>& r) {
  if (r.ok()) return Status::AlreadyExists("file exists");
  if (r.status().IsNotFound()) return Status::Ok();
  return r.status();
}

}  // namespace

Result<Entry> FileSystem::MkDir(InodeId parent, std::string_view name, uint32_t mode,
                                const Caller& caller) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  SHADOWFS_RETURN_IF_ERROR(ExpectAbsent(impl_->Resolve(parent, name)));
  std::string key;
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->ChildKey(parent, name));
  }
  Attributes attr;
  attr.mode = S_IFDIR | (mode & 07777);
  attr.uid = caller.uid;
  attr.gid = caller.gid;
  attr.atime = attr.mtime = attr.ctime = impl_->rt.clock->Now();
  blobstore::StringSource empty("");
  SHADOWFS_ASSIGN_OR_RETURN(auto info,
                            impl_->primary->Put(key + "/", empty,
                                                {.metadata = EncodeAttributes(attr),
                                                 .content_type = std::string(kDirContentType)}));
  ObjectVersion v = VersionFromInfo(info);
  if (v.metadata.empty()) v.metadata = EncodeAttributes(attr);
  base::MutexLock lock(&impl_->mu);
  if (impl_->inodes.Get(parent) == nullptr) return Status::NotFound("the directory was removed");
  impl_->Learn(key + "/", v);
  Entry e = impl_->Install(parent, name, Resolved{.kind = FileKind::kDirectory, .version = v});
  if (Inode* inode = impl_->inodes.Get(e.attr.ino)) impl_->InvalidateDirOf(*inode);
  return e;
}

Result<Entry> FileSystem::Symlink(std::string_view target, InodeId parent, std::string_view name,
                                  const Caller& caller) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  if (target.empty() || target.size() > 4095) {
    return Status::InvalidArgument("invalid symlink target length");
  }
  SHADOWFS_RETURN_IF_ERROR(ExpectAbsent(impl_->Resolve(parent, name)));
  std::string key;
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->ChildKey(parent, name));
  }
  Attributes attr;
  attr.mode = S_IFLNK | 0777;
  attr.uid = caller.uid;
  attr.gid = caller.gid;
  attr.atime = attr.mtime = attr.ctime = impl_->rt.clock->Now();
  blobstore::PutOptions po{.metadata = EncodeAttributes(attr)};
  po.conditions.if_none_match = "*";
  SHADOWFS_ASSIGN_OR_RETURN(auto info, blobstore::PutString(*impl_->primary, key, target, po));
  ObjectVersion v = VersionFromInfo(info);
  if (v.metadata.empty()) v.metadata = po.metadata;
  base::MutexLock lock(&impl_->mu);
  if (impl_->inodes.Get(parent) == nullptr) return Status::NotFound("the directory was removed");
  impl_->Learn(key, v);
  Entry e = impl_->Install(parent, name, Resolved{.kind = FileKind::kSymlink, .version = v});
  if (Inode* inode = impl_->inodes.Get(e.attr.ino)) {
    inode->link_target = std::string(target);
    impl_->InvalidateDirOf(*inode);
  }
  return e;
}

Status FileSystem::Unlink(InodeId parent, std::string_view name) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  SHADOWFS_ASSIGN_OR_RETURN(Resolved r, impl_->Resolve(parent, name));
  if (r.kind == FileKind::kDirectory) return Status::IsDirectory("is a directory");
  std::string key;
  bool local_only = false;
  std::shared_ptr<FileData> open;
  InodeId child = 0;
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->ChildKey(parent, name));
    if (Inode* c = impl_->inodes.Child(parent, name)) {
      local_only = c->local_only;
      if (auto it = impl_->open_files.find(c->id); it != impl_->open_files.end()) {
        open = it->second->data;
      }
      // From now on an open FileData serves its data but never recreates the object.
      c->unlinked = true;
      child = c->id;
    }
  }
  // A failed unlink leaves the file in place, and a file in place must commit and revalidate.
  auto undo = [&](Status st) {
    base::MutexLock lock(&impl_->mu);
    if (Inode* c = impl_->inodes.Get(child); c != nullptr && c->parent != 0) c->unlinked = false;
    return st;
  };
  if (open) {
    // POSIX: an unlinked open file keeps its data. FileData fetches base chunks lazily from the
    // primary, so stage every byte locally before the object goes away.
    std::string buf(1 << 20, '\0');
    for (uint64_t off = 0; off < open->size();) {
      auto n = open->Read(off, buf);
      if (!n.ok()) return undo(n.status());
      if (*n == 0) break;
      auto w = open->Write(off, std::string_view(buf.data(), *n));
      if (!w.ok()) return undo(w.status());
      off += *n;
    }
  }
  impl_->uploader->WaitForKey(key);
  if (!local_only) {
    Status st = impl_->primary->Delete(key);
    if (!st.ok()) return undo(st);
  }
  if (impl_->store != nullptr) (void)impl_->store->ObserveDeleted(key, impl_->rt.clock->Now());
  base::MutexLock lock(&impl_->mu);
  impl_->queued_keys.erase(key);
  impl_->versions.Invalidate(key);
  if (auto path = impl_->inodes.Path(parent)) {
    impl_->dir_cache.Invalidate(impl_->DirKey(*path));
  }
  if (Inode* c = impl_->inodes.Child(parent, name)) impl_->inodes.Detach(c->id);
  return Status::Ok();
}

Status FileSystem::RmDir(InodeId parent, std::string_view name) {
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  SHADOWFS_ASSIGN_OR_RETURN(Resolved r, impl_->Resolve(parent, name));
  if (r.kind != FileKind::kDirectory) return Status::NotDirectory("not a directory");
  std::string key;
  InodeId child = 0;
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, impl_->ChildKey(parent, name));
    if (Inode* c = impl_->inodes.Child(parent, name)) child = c->id;
  }
  std::string dir_key = key + "/";
  if (child != 0 && impl_->HasLocalChildren(child, dir_key)) {
    return Status::NotEmpty("directory not empty");
  }
  blobstore::ListOptions lo{.prefix = dir_key, .max_keys = 2};
  SHADOWFS_ASSIGN_OR_RETURN(auto page, impl_->primary->List(lo));
  for (const auto& obj : page.objects) {
    if (obj.key != dir_key) return Status::NotEmpty("directory not empty");
  }
  if (!page.common_prefixes.empty()) return Status::NotEmpty("directory not empty");
  SHADOWFS_RETURN_IF_ERROR(impl_->primary->Delete(dir_key));
  base::MutexLock lock(&impl_->mu);
  if (auto path = impl_->inodes.Path(parent)) {
    impl_->dir_cache.Invalidate(impl_->DirKey(*path));
  }
  impl_->dir_cache.Invalidate(dir_key);
  impl_->versions.Invalidate(dir_key);
  if (Inode* c = impl_->inodes.Child(parent, name)) {
    c->unlinked = true;
    impl_->inodes.Detach(c->id);
  }
  return Status::Ok();
}

Status FileSystem::SetXattr(InodeId ino, std::string_view name, std::string_view value, int flags) {
  if (name.empty() || name.size() > 255) return Status::InvalidArgument("invalid xattr name");
  return impl_->UpdateMetadata(ino, [&](Attributes&, blobstore::UserMetadata& meta) -> Status {
    Xattrs x = GetXattrs(meta);
    bool exists = x.find(name) != x.end();
    if ((flags & XATTR_CREATE) && exists) return Status::AlreadyExists("attribute exists");
    if ((flags & XATTR_REPLACE) && !exists) return Status::NotFound("no such attribute");
    x[std::string(name)] = std::string(value);
    PutXattrs(x, &meta);
    return Status::Ok();
  });
}

Result<std::optional<std::string>> FileSystem::GetXattr(InodeId ino, std::string_view name) {
  SHADOWFS_RETURN_IF_ERROR(impl_->Refresh(ino, false));
  base::MutexLock lock(&impl_->mu);
  const Inode* inode = impl_->inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  Xattrs x = GetXattrs(inode->version.metadata);
  auto it = x.find(name);
  if (it == x.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Result<std::vector<std::string>> FileSystem::ListXattr(InodeId ino) {
  SHADOWFS_RETURN_IF_ERROR(impl_->Refresh(ino, false));
  base::MutexLock lock(&impl_->mu);
  const Inode* inode = impl_->inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  std::vector<std::string> names;
  for (const auto& [n, v] : GetXattrs(inode->version.metadata)) names.push_back(n);
  return names;
}

Result<bool> FileSystem::RemoveXattr(InodeId ino, std::string_view name) {
  bool removed = false;
  Status st = impl_->UpdateMetadata(ino, [&](Attributes&, blobstore::UserMetadata& meta) -> Status {
    Xattrs x = GetXattrs(meta);
    if (x.erase(std::string(name)) == 0) return Status::NotFound("no such attribute");
    PutXattrs(x, &meta);
    removed = true;
    return Status::Ok();
  });
  if (!st.ok() && st.IsNotFound() && st.message() == "no such attribute") return false;
  SHADOWFS_RETURN_IF_ERROR(st);
  return removed;
}

}  // namespace shadowfs::fs
