// LocalDirBlobStore: directories. Markers (Put "d/"), the implicit directories a Put creates
// above its key, and Delete, which removes them again when they become empty.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "blobstore/local_dir_blob_store.h"

namespace shadowfs::blobstore {

using base::UniqueFd;
using localdir::LocalKey;
using localdir::Node;
using localdir::NodeKind;
using localdir::SidecarRecord;

Result<ObjectInfo> LocalDirBlobStore::PutMarker(std::string_view key, const LocalKey& k,
                                                uint64_t body_size, const UserMetadata& metadata,
                                                const std::string& content_type,
                                                const Preconditions& conditions) {
  if (body_size != 0) {
    return Status::InvalidArgument(
        "cannot store " + localdir::Quote(key) + " with " + std::to_string(body_size) +
        " bytes: a key ending in '/' is a directory in the local primary and holds no data");
  }
  for (int attempt = 1;; ++attempt) {
    auto parent = EnsureParents(key, k);
    if (!parent.ok()) {
      if (parent.status().IsNotFound() && attempt < localdir::kMaxAttempts) continue;
      return parent.status();
    }
    base::MutexLock lock(&LockFor(key));
    SHADOWFS_ASSIGN_OR_RETURN(Node node, localdir::StatAt(parent->get(), k.name));
    const std::string path(key.substr(0, key.size() - 1));
    if (node.kind == NodeKind::kFile) return localdir::Collision(path, key);
    if (node.kind == NodeKind::kSymlink || node.kind == NodeKind::kOther) {
      return localdir::NotOurs(key, path, node);
    }
    std::optional<ObjectInfo> current;
    if (node.kind == NodeKind::kDir) {
      SHADOWFS_ASSIGN_OR_RETURN(auto resolved, ResolveLocked(key, k));
      if (resolved) current = std::move(resolved->info);
    }
    SHADOWFS_RETURN_IF_ERROR(
        EvaluatePreconditions(conditions, current ? &*current : nullptr, true, key));
    bool created = false;
    if (node.kind == NodeKind::kMissing) {
      if (::mkdirat(parent->get(), k.name.c_str(), 0755) != 0) {
        if ((errno == ENOENT || errno == EEXIST) && attempt < localdir::kMaxAttempts) continue;
        return base::ErrnoStatus(errno, "create directory " + localdir::Quote(key));
      }
      created = true;
    }
    auto dir = localdir::OpenDirAt(parent->get(), k.name);
    if (!dir.ok()) {
      if (dir.status().IsNotFound() && attempt < localdir::kMaxAttempts) continue;
      return dir.status();
    }
    struct stat st;
    if (::fstat(dir->get(), &st) != 0) {
      return base::ErrnoStatus(errno, "stat " + localdir::Quote(key));
    }
    SidecarRecord record;
    record.ino = static_cast<uint64_t>(st.st_ino);
    record.is_dir = true;
    record.mtime_ns = NowNs();
    record.content_type = content_type;
    record.metadata = metadata;
    Status stored = sidecars_.Store(key, {record}, localdir::Durability::kFileAndDir);
    if (!stored.ok()) {
      if (created) ::unlinkat(parent->get(), k.name.c_str(), AT_REMOVEDIR);
      return stored;
    }
    if (created) SHADOWFS_RETURN_IF_ERROR(localdir::Fsync(parent->get(), "directory"));
    return record.ToInfo(key);
  }
}

Result<UniqueFd> LocalDirBlobStore::EnsureParents(std::string_view key, const LocalKey& k) {
  SHADOWFS_ASSIGN_OR_RETURN(UniqueFd current, localdir::OpenDirs(root_fd_.get(), {}, 0));
  for (size_t i = 0; i < k.dirs.size(); ++i) {
    const std::string& name = k.dirs[i];
    for (int tries = 1;; ++tries) {
      auto next = localdir::OpenDirAt(current.get(), name);
      if (next.ok()) {
        current = std::move(*next);
        break;
      }
      if (!next.status().IsNotFound()) return next.status();
      if (tries >= localdir::kMaxAttempts) {
        return Status::Unavailable("directory " + localdir::Quote(localdir::DirKey(k.dirs, i + 1)) +
                                   " keeps changing under " + localdir::Quote(key));
      }
      SHADOWFS_ASSIGN_OR_RETURN(Node node, localdir::StatAt(current.get(), name));
      std::string dir_key = localdir::DirKey(k.dirs, i + 1);
      std::string path = dir_key.substr(0, dir_key.size() - 1);
      switch (node.kind) {
        case NodeKind::kFile:
          return localdir::Collision(path, key);
        case NodeKind::kSymlink:
        case NodeKind::kOther:
          return localdir::NotOurs(key, path, node);
        case NodeKind::kDir:
          break;  // appeared between the open and the stat: open again
        case NodeKind::kMissing:
          // NotFound here means `current` itself was removed: the caller starts over.
          SHADOWFS_RETURN_IF_ERROR(CreateImplicitDir(current.get(), dir_key, name));
          break;
      }
    }
  }
  return current;
}

Status LocalDirBlobStore::CreateImplicitDir(int parent_fd, const std::string& dir_key,
                                            const std::string& name) {
  // Under the marker key's lock, so that no one sees the directory without its record except a
  // List or Head racing with us (which then shows it as a marker, once).
  base::MutexLock lock(&LockFor(dir_key));
  if (::mkdirat(parent_fd, name.c_str(), 0755) != 0) {
    if (errno == EEXIST) return Status::Ok();
    if (errno == ENOENT) return Status::NotFound("directory removed meanwhile");
    return base::ErrnoStatus(errno, "create directory " + localdir::Quote(dir_key));
  }
  auto undo = [&](Status st) {
    ::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR);
    return st;
  };
  auto dir = localdir::OpenDirAt(parent_fd, name);
  if (!dir.ok()) return undo(dir.status());
  struct stat st;
  if (::fstat(dir->get(), &st) != 0) {
    return undo(base::ErrnoStatus(errno, "stat " + localdir::Quote(dir_key)));
  }
  SidecarRecord record;
  record.ino = static_cast<uint64_t>(st.st_ino);
  record.is_dir = true;
  record.implicit_dir = true;
  record.mtime_ns = NowNs();
  // If the record were lost the directory would only turn into an explicit marker.
  Status stored = sidecars_.Store(dir_key, {record}, localdir::Durability::kFileAndDir);
  if (!stored.ok()) return undo(stored);
  return localdir::Fsync(parent_fd, "directory above " + localdir::Quote(dir_key));
}

Status LocalDirBlobStore::Delete(std::string_view key) {
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey k, localdir::ParseLocalKey(key));
  {
    base::MutexLock lock(&LockFor(key));
    auto parent = localdir::OpenDirs(root_fd_.get(), k.dirs, k.dirs.size());
    if (!parent.ok()) return parent.status().IsNotFound() ? Status::Ok() : parent.status();
    SHADOWFS_ASSIGN_OR_RETURN(Node node, localdir::StatAt(parent->get(), k.name));
    // A symlink, special file or directory at a file key is no object: nothing to delete.
    if (node.kind != (k.is_marker ? NodeKind::kDir : NodeKind::kFile)) return Status::Ok();
    const auto ino = static_cast<uint64_t>(node.st.st_ino);
    if (k.is_marker) {
      SHADOWFS_ASSIGN_OR_RETURN(std::vector<SidecarRecord> records, sidecars_.Load(key));
      for (const auto& r : records) {
        if (r.is_dir && r.implicit_dir && r.ino == ino) return Status::Ok();
      }
      if (::unlinkat(parent->get(), k.name.c_str(), AT_REMOVEDIR) != 0) {
        if (errno == ENOENT) return Status::Ok();
        if (errno != ENOTEMPTY && errno != EEXIST) {
          return base::ErrnoStatus(errno, "remove directory " + localdir::Quote(key));
        }
        // As in S3, deleting the marker leaves the keys under it; the directory stays for them
        // and now goes away with the last of them.
        SidecarRecord record;
        record.ino = ino;
        record.is_dir = true;
        record.implicit_dir = true;
        record.mtime_ns = NowNs();
        return sidecars_.Store(key, {record}, localdir::Durability::kFileAndDir);
      }
    } else if (::unlinkat(parent->get(), k.name.c_str(), 0) != 0) {
      if (errno == ENOENT) return Status::Ok();
      return base::ErrnoStatus(errno, "remove " + localdir::Quote(key));
    }
    // A sidecar left behind by a crash names a dead inode and so matches nothing.
    (void)sidecars_.Store(key, {}, localdir::Durability::kNone);
    SHADOWFS_RETURN_IF_ERROR(
        localdir::Fsync(parent->get(), "directory of " + localdir::Quote(key)));
  }
  RemoveEmptyImplicitParents(k.dirs);
  return Status::Ok();
}

void LocalDirBlobStore::RemoveEmptyImplicitParents(const std::vector<std::string>& dirs) {
  // Best effort, one directory (and one key lock) at a time from the bottom: a failure leaves an
  // empty implicit directory, which lists as nothing and is reused by the next Put below it.
  for (size_t n = dirs.size(); n > 0; --n) {
    const std::string dir_key = localdir::DirKey(dirs, n);
    base::MutexLock lock(&LockFor(dir_key));
    auto parent = localdir::OpenDirs(root_fd_.get(), dirs, n - 1);
    if (!parent.ok()) return;
    auto node = localdir::StatAt(parent->get(), dirs[n - 1]);
    if (!node.ok() || node->kind != NodeKind::kDir) return;
    auto records = sidecars_.Load(dir_key);
    if (!records.ok()) return;
    bool implicit = false;
    for (const auto& r : *records) {
      implicit |= r.is_dir && r.implicit_dir && r.ino == static_cast<uint64_t>(node->st.st_ino);
    }
    // rmdir fails on a directory that is not empty, atomically against any concurrent Put.
    if (!implicit || ::unlinkat(parent->get(), dirs[n - 1].c_str(), AT_REMOVEDIR) != 0) return;
    (void)sidecars_.Store(dir_key, {}, localdir::Durability::kNone);
    (void)localdir::Fsync(parent->get(), "directory");
  }
}

}  // namespace shadowfs::blobstore
