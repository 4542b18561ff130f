// FileSystem: directory handles. A handle snapshots the listing at opendir, so offsets
// (index + 1, "." and ".." first) stay stable while the directory changes.
#include <sys/stat.h>

#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {
// Entries whose attributes one readdirplus round fetches in parallel.
constexpr size_t kPlusWindow = 64;
}  // namespace

Result<HandleId> FileSystem::OpenDir(InodeId ino) {
  SHADOWFS_ASSIGN_OR_RETURN(auto listing, impl_->GetListing(ino));
  base::MutexLock lock(&impl_->mu);
  Inode* inode = impl_->inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  auto path = impl_->inodes.Path(ino);
  if (!path) return Status::NotFound("the directory was removed");
  HandleId h = impl_->next_handle++;
  impl_->dir_handles.emplace(h, Impl::DirHandle{.ino = ino,
                                                .parent = inode->parent == 0 ? ino : inode->parent,
                                                .dir_key = impl_->DirKey(*path),
                                                .entries = std::move(listing)});
  ++inode->opens;
  return h;
}

Status FileSystem::ReleaseDir(HandleId handle) {
  base::MutexLock lock(&impl_->mu);
  auto it = impl_->dir_handles.find(handle);
  if (it == impl_->dir_handles.end()) return Status::InvalidArgument("bad directory handle");
  InodeId ino = it->second.ino;
  impl_->dir_handles.erase(it);
  if (Inode* inode = impl_->inodes.Get(ino)) {
    if (inode->opens > 0) --inode->opens;
    impl_->inodes.MaybeFree(ino);
  }
  return Status::Ok();
}

Status FileSystem::ReadDir(HandleId handle, uint64_t offset, bool plus,
                           const std::function<bool(const DirEntry&)>& emit) {
  Impl::DirHandle dh;
  {
    base::MutexLock lock(&impl_->mu);
    auto it = impl_->dir_handles.find(handle);
    if (it == impl_->dir_handles.end()) return Status::InvalidArgument("bad directory handle");
    dh = it->second;
  }
  const Listing& entries = *dh.entries;
  const uint64_t total = entries.size() + 2;
  uint64_t idx = offset;
  // "." and ".." carry no Entry: the kernel counts no lookup for them.
  while (idx < 2 && idx < total) {
    DirEntry e{.name = idx == 0 ? "." : "..",
               .kind = FileKind::kDirectory,
               .ino = idx == 0 ? dh.ino : dh.parent,
               .next_offset = idx + 1};
    if (!emit(e)) return Status::Ok();
    ++idx;
  }
  while (idx < total) {
    size_t begin = idx - 2;
    size_t end = plus ? std::min<size_t>(entries.size(), begin + kPlusWindow) : entries.size();
    std::vector<std::optional<Resolved>> resolved(end - begin);
    if (plus) {
      std::vector<size_t> need;
      {
        base::MutexLock lock(&impl_->mu);
        base::MonoTime now = impl_->rt.clock->Monotonic();
        for (size_t i = begin; i < end; ++i) {
          const Inode* c = impl_->inodes.Child(dh.ino, entries[i].name);
          bool same_kind = c != nullptr && ((c->kind == FileKind::kDirectory) ==
                                            (entries[i].kind == FileKind::kDirectory));
          if (same_kind && (c->local_only || now < c->attr_expiry)) {
            resolved[i - begin] = Resolved{.kind = c->kind, .from_inode = true};
            continue;
          }
          // The listing shows the ETag of a version whose metadata we remember: no HEAD.
          const std::string& etag = entries[i].object.etag;
          if (entries[i].kind == FileKind::kRegular && !etag.empty()) {
            auto known = impl_->versions.Get(dh.dir_key + entries[i].name, now);
            if (known && known->fresh && known->version.etag == etag) {
              resolved[i - begin] =
                  Resolved{.kind = impl_->KindOf(known->version), .version = known->version};
              continue;
            }
          }
          need.push_back(i);
        }
      }
      base::Mutex done_mu;
      base::CondVar done_cv;
      size_t remaining = need.size();
      for (size_t i : need) {
        impl_->meta_pool->Submit([&, i] {
          const ListedEntry& le = entries[i];
          std::string key = dh.dir_key + le.name;
          std::optional<Resolved> r;
          if (le.kind == FileKind::kDirectory) {
            auto marker = impl_->HeadDirMarker(key);
            r = Resolved{.kind = FileKind::kDirectory,
                         .version = marker.ok() ? *marker : ObjectVersion{}};
          } else {
            auto head = impl_->HeadFile(key);
            if (head.ok()) {
              r = Resolved{.kind = impl_->KindOf(*head), .version = std::move(*head)};
            } else if (!head.status().IsNotFound()) {
              r = Resolved{.kind = FileKind::kRegular, .version = VersionFromInfo(le.object)};
            } else if (le.object.key.empty()) {
              r = Resolved{.kind = FileKind::kRegular, .from_inode = true};  // local only
            }  // else: deleted since the listing
          }
          base::MutexLock lock(&done_mu);
          resolved[i - begin] = std::move(r);
          if (--remaining == 0) done_cv.SignalAll();
        });
      }
      base::MutexLock lock(&done_mu);
      while (remaining > 0) done_cv.Wait(&done_mu);
    }
    for (size_t i = begin; i < end; ++i, ++idx) {
      const ListedEntry& le = entries[i];
      DirEntry e{.name = le.name, .kind = le.kind, .next_offset = idx + 1};
      if (plus) {
        const std::optional<Resolved>& r = resolved[i - begin];
        if (!r) continue;
        {
          base::MutexLock lock(&impl_->mu);
          if (impl_->inodes.Get(dh.ino) == nullptr) return Status::NotFound("stale inode");
          if (r->from_inode && impl_->inodes.Child(dh.ino, le.name) == nullptr) continue;
          e.entry = impl_->Install(dh.ino, le.name, *r);
        }
        e.ino = e.entry->attr.ino;
        e.kind = e.entry->attr.kind;
        if (!emit(e)) {
          Forget(e.ino, 1);
          return Status::Ok();
        }
      } else if (!emit(e)) {
        return Status::Ok();
      }
    }
  }
  return Status::Ok();
}

}  // namespace shadowfs::fs
