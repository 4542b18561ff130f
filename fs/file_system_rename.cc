// FileSystem::Rename. An object store has no rename: a file is copied then deleted; a directory
// is copied object by object (bounded by max_rename_objects), and only once every copy exists
// are the sources deleted, so a failure midway leaves both copies and loses nothing.
#include <linux/fs.h>

#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

Result<std::vector<blobstore::ObjectInfo>> ListAll(blobstore::BlobStore& primary,
                                                   const std::string& prefix, uint64_t limit) {
  std::vector<blobstore::ObjectInfo> out;
  blobstore::ListOptions lo{.prefix = prefix};
  while (true) {
    SHADOWFS_ASSIGN_OR_RETURN(auto page, primary.List(lo));
    for (auto& o : page.objects) out.push_back(std::move(o));
    // Enough to report the bound was crossed; no need to count a huge tree to the end.
    if (out.size() > limit + 1000) break;
    if (!page.truncated || page.next_continuation_token.empty()) break;
    lo.continuation_token = page.next_continuation_token;
  }
  return out;
}

}  // namespace

Status FileSystem::Rename(InodeId parent, std::string_view name, InodeId new_parent,
                          std::string_view new_name, unsigned flags) {
  if (flags & RENAME_EXCHANGE) {
    return Status::NotSupported("RENAME_EXCHANGE is not supported on an object store");
  }
  if (flags & ~static_cast<unsigned>(RENAME_NOREPLACE)) {
    return Status::InvalidArgument("unsupported rename flags");
  }
  SHADOWFS_RETURN_IF_ERROR(impl_->CheckWritable());
  SHADOWFS_RETURN_IF_ERROR(Impl::ValidateName(new_name));
  SHADOWFS_ASSIGN_OR_RETURN(Resolved src, impl_->Resolve(parent, name));
  auto dst = impl_->Resolve(new_parent, new_name);
  if (!dst.ok() && !dst.status().IsNotFound()) return dst.status();
  const bool dst_exists = dst.ok();
  const bool src_dir = src.kind == FileKind::kDirectory;
  std::string src_key, dst_key;
  InodeId src_ino = 0;
  {
    base::MutexLock lock(&impl_->mu);
    SHADOWFS_ASSIGN_OR_RETURN(src_key, impl_->ChildKey(parent, name));
    SHADOWFS_ASSIGN_OR_RETURN(dst_key, impl_->ChildKey(new_parent, new_name));
    if (Inode* s = impl_->inodes.Child(parent, name)) src_ino = s->id;
    if (src_dir && src_ino != 0 && impl_->inodes.IsAncestor(src_ino, new_parent)) {
      return Status::InvalidArgument("cannot move a directory into itself");
    }
  }
  if (src_key == dst_key) return Status::Ok();
  if (dst_exists) {
    if (flags & RENAME_NOREPLACE) return Status::AlreadyExists("the target exists");
    bool dst_dir = dst->kind == FileKind::kDirectory;
    if (!src_dir && dst_dir) return Status::IsDirectory("the target is a directory");
    if (src_dir && !dst_dir) return Status::NotDirectory("the target is not a directory");
    if (dst_dir) {
      blobstore::ListOptions lo{.prefix = dst_key + "/", .max_keys = 2};
      SHADOWFS_ASSIGN_OR_RETURN(auto page, impl_->primary->List(lo));
      for (const auto& o : page.objects) {
        if (o.key != dst_key + "/") return Status::NotEmpty("the target directory is not empty");
      }
      InodeId dst_ino = 0;
      {
        base::MutexLock lock(&impl_->mu);
        if (Inode* d = impl_->inodes.Child(new_parent, new_name)) dst_ino = d->id;
      }
      if (dst_ino != 0 && impl_->HasLocalChildren(dst_ino, dst_key + "/")) {
        return Status::NotEmpty("the target directory is not empty");
      }
    }
  }

  // Staged data of open files that move goes to the primary first, under the old key.
  std::vector<std::pair<InodeId, std::shared_ptr<OpenFile>>> moving;
  std::vector<std::string> queued;
  {
    base::MutexLock lock(&impl_->mu);
    for (auto& [ino, of] : impl_->open_files) {
      if (src_ino != 0 && impl_->inodes.IsAncestor(src_ino, ino)) moving.emplace_back(ino, of);
    }
    std::string prefix = src_dir ? src_key + "/" : src_key;
    for (auto it = impl_->queued_keys.lower_bound(prefix);
         it != impl_->queued_keys.end() && it->compare(0, prefix.size(), prefix) == 0; ++it) {
      queued.push_back(*it);
    }
  }
  for (auto& [ino, of] : moving) SHADOWFS_RETURN_IF_ERROR(impl_->CommitFile(ino, of));
  for (const auto& k : queued) impl_->uploader->WaitForKey(k);

  if (!src_dir) {
    impl_->uploader->WaitForKey(src_key);
    // An upload of the object being replaced must not land on top of the copy.
    impl_->uploader->WaitForKey(dst_key);
    SHADOWFS_RETURN_IF_ERROR(impl_->primary->Copy(src_key, dst_key, {}).status());
    SHADOWFS_RETURN_IF_ERROR(impl_->primary->Delete(src_key));
  } else {
    std::string from = src_key + "/";
    std::string to = dst_key + "/";
    uint64_t limit = impl_->options.max_rename_objects;
    SHADOWFS_ASSIGN_OR_RETURN(auto objects, ListAll(*impl_->primary, from, limit));
    if (objects.size() > limit) {
      return Status::NotSupported(
          "renaming a directory copies every object under it: '" + from + "' holds " +
          (objects.size() > limit + 1000 ? "more than " + std::to_string(objects.size())
                                         : std::to_string(objects.size())) +
          " objects, above max_rename_objects = " + std::to_string(limit));
    }
    for (const auto& o : objects) {
      SHADOWFS_RETURN_IF_ERROR(
          impl_->primary->Copy(o.key, to + o.key.substr(from.size()), {}).status());
    }
    for (const auto& o : objects) SHADOWFS_RETURN_IF_ERROR(impl_->primary->Delete(o.key));
  }
  if (impl_->store != nullptr) (void)impl_->store->ObserveDeleted(src_key, impl_->rt.clock->Now());

  base::MutexLock lock(&impl_->mu);
  if (auto p = impl_->inodes.Path(parent)) impl_->dir_cache.Invalidate(impl_->DirKey(*p));
  if (auto p = impl_->inodes.Path(new_parent)) impl_->dir_cache.Invalidate(impl_->DirKey(*p));
  if (src_dir) impl_->dir_cache.Clear();
  // The copies are new versions (a copy may not keep the ETag) and the sources are gone.
  if (src_dir) {
    impl_->versions.InvalidatePrefix(src_key + "/");
    impl_->versions.InvalidatePrefix(dst_key + "/");
  } else {
    impl_->versions.Invalidate(src_key);
  }
  impl_->versions.Invalidate(dst_key);
  // Whatever was replaced at the target is gone: an open FileData of it must not recreate it.
  if (Inode* d = impl_->inodes.Child(new_parent, new_name); d != nullptr && d->id != src_ino) {
    d->unlinked = true;
  }
  for (const auto& k : queued) impl_->queued_keys.erase(k);
  if (src_ino != 0) {
    impl_->inodes.Move(src_ino, new_parent, new_name);
    if (Inode* s = impl_->inodes.Get(src_ino)) s->changed_since_open = true;
  } else if (Inode* d = impl_->inodes.Child(new_parent, new_name)) {
    impl_->inodes.Detach(d->id);  // a stale inode; the next lookup finds the moved object
  }
  for (auto& [ino, of] : impl_->open_files) {
    if (src_ino == 0 || !impl_->inodes.IsAncestor(src_ino, ino)) continue;
    if (auto path = impl_->inodes.Path(ino)) of->data->SetKey(impl_->FileKey(*path));
  }
  return Status::Ok();
}

}  // namespace shadowfs::fs
