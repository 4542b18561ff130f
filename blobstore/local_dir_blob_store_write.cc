// LocalDirBlobStore: Put of files (stage, then commit under the key lock) and Copy onto itself.
#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>

#include "blobstore/base/digest.h"
#include "blobstore/local_dir_blob_store.h"

namespace shadowfs::blobstore {

using base::UniqueFd;
using localdir::LocalKey;
using localdir::Node;
using localdir::NodeKind;
using localdir::SidecarRecord;

namespace {

Status SimulatedCrash() { return Status::IOError("simulated crash (test hook)"); }

}  // namespace

// A body written to ROOT/.shadowfs/tmp/, removed on destruction unless Release()d.
class LocalDirBlobStore::Staged {
 public:
  Staged(int tmp_dir_fd, std::string name, UniqueFd file)
      : fd(std::move(file)), tmp_dir_fd_(tmp_dir_fd), name_(std::move(name)) {}
  Staged(Staged&& other) noexcept
      : fd(std::move(other.fd)),
        etag(std::move(other.etag)),
        size(other.size),
        tmp_dir_fd_(other.tmp_dir_fd_),
        name_(std::exchange(other.name_, std::string())) {}
  Staged& operator=(Staged&&) = delete;
  ~Staged() {
    if (!name_.empty()) ::unlinkat(tmp_dir_fd_, name_.c_str(), 0);
  }

  const std::string& name() const { return name_; }
  // The file was renamed into place, or a simulated crash leaves it behind on purpose.
  void Release() { name_.clear(); }

  UniqueFd fd;
  std::string etag;
  uint64_t size = 0;

 private:
  int tmp_dir_fd_;
  std::string name_;
};

Result<LocalDirBlobStore::Staged> LocalDirBlobStore::StageBody(ByteSource& body) {
  std::string name = namer_.Next("put");
  int fd = ::openat(tmp_fd_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return base::ErrnoStatus(errno, "create a temporary file");
  Staged staged(tmp_fd_.get(), std::move(name), UniqueFd(fd));
  base::Digest md5(base::Digest::Algorithm::kMd5);
  const uint64_t size = body.size();
  std::string buf(static_cast<size_t>(std::min<uint64_t>(size, localdir::kIoChunk)), '\0');
  for (uint64_t pos = 0; pos < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(size - pos, buf.size()));
    SHADOWFS_RETURN_IF_ERROR(body.ReadAt(pos, std::span<char>(buf.data(), n)));
    std::string_view piece(buf.data(), n);
    md5.Update(piece);
    SHADOWFS_RETURN_IF_ERROR(localdir::WriteAll(fd, piece, "temporary file"));
    pos += n;
  }
  // The object's Last-Modified comes from the store's clock, as S3's comes from the server's.
  struct timespec times[2] = {{0, UTIME_OMIT}, localdir::ToTimespec(NowNs())};
  if (::futimens(fd, times) != 0) return base::ErrnoStatus(errno, "set mtime");
  SHADOWFS_RETURN_IF_ERROR(localdir::Fsync(fd, "temporary file"));
  staged.etag = md5.FinishHex();
  staged.size = size;
  return staged;
}

Result<ObjectInfo> LocalDirBlobStore::Put(std::string_view key, ByteSource& body,
                                          const PutOptions& options) {
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey k, localdir::ParseLocalKey(key));
  if (k.is_marker) {
    return PutMarker(key, k, body.size(), options.metadata, options.content_type,
                     options.conditions);
  }
  return PutFile(key, k, body, options.metadata, options.content_type, options.conditions);
}

Result<ObjectInfo> LocalDirBlobStore::PutFile(std::string_view key, const LocalKey& k,
                                              ByteSource& body, const UserMetadata& metadata,
                                              const std::string& content_type,
                                              const Preconditions& conditions) {
  auto staged = StageBody(body);
  if (!staged.ok()) return staged.status().WithContext("putting " + localdir::Quote(key));
  if (CrashHere(CrashPoint::kAfterStaging)) {
    staged->Release();
    return SimulatedCrash();
  }
  SidecarRecord record;
  record.size = staged->size;
  record.etag = staged->etag;
  record.content_type = content_type;
  record.metadata = metadata;
  return CommitFile(key, k, *staged, record, conditions);
}

Result<ObjectInfo> LocalDirBlobStore::CommitFile(std::string_view key, const LocalKey& k,
                                                 Staged& staged, const SidecarRecord& base_record,
                                                 const Preconditions& conditions) {
  SidecarRecord record = base_record;
  for (int attempt = 1;; ++attempt) {
    auto parent = EnsureParents(key, k);
    if (!parent.ok()) {
      if (parent.status().IsNotFound() && attempt < localdir::kMaxAttempts) continue;
      return parent.status();
    }
    base::MutexLock lock(&LockFor(key));
    SHADOWFS_ASSIGN_OR_RETURN(Node node, localdir::StatAt(parent->get(), k.name));
    if (node.kind == NodeKind::kDir) return localdir::Collision(key, std::string(key) + "/");
    if (node.kind == NodeKind::kSymlink || node.kind == NodeKind::kOther) {
      return localdir::NotOurs(key, key, node);
    }
    std::optional<ObjectInfo> current;
    if (node.kind == NodeKind::kFile && !conditions.empty()) {
      SHADOWFS_ASSIGN_OR_RETURN(auto resolved, ResolveLocked(key, k));
      if (resolved) current = std::move(resolved->info);
    }
    SHADOWFS_RETURN_IF_ERROR(
        EvaluatePreconditions(conditions, current ? &*current : nullptr, true, key));

    // Both inodes' records first, so that whichever file a crash leaves at the key finds its own.
    struct stat st;
    if (::fstat(staged.fd.get(), &st) != 0) return base::ErrnoStatus(errno, "stat");
    record.ino = static_cast<uint64_t>(st.st_ino);
    record.mtime_ns = localdir::MtimeNs(st);
    record.ctime_ns = localdir::CtimeNs(st);
    SHADOWFS_ASSIGN_OR_RETURN(std::vector<SidecarRecord> records, sidecars_.Load(key));
    std::vector<SidecarRecord> both;
    for (const auto& r : records) {
      if (node.kind == NodeKind::kFile && !r.is_dir &&
          r.ino == static_cast<uint64_t>(node.st.st_ino)) {
        both.push_back(r);
      }
    }
    both.push_back(record);
    SHADOWFS_RETURN_IF_ERROR(sidecars_.Store(key, both, localdir::Durability::kFileAndDir));
    if (CrashHere(CrashPoint::kAfterSidecar)) {
      staged.Release();
      return SimulatedCrash();
    }

    if (::renameat(tmp_fd_.get(), staged.name().c_str(), parent->get(), k.name.c_str()) != 0) {
      int err = errno;
      // A concurrent Delete removed the directory, empty but for our file-to-be: make it again.
      if (err == ENOENT && attempt < localdir::kMaxAttempts) continue;
      if (err == EISDIR || err == ENOTEMPTY || err == EEXIST) {
        return localdir::Collision(key, std::string(key) + "/");
      }
      if (err == EXDEV) {
        return Status::NotSupported(
            "cannot store " + localdir::Quote(key) + ": its directory is on another filesystem " +
            "than " + localdir::Quote(root_) +
            " (a mount point inside the local primary), so it cannot be written atomically");
      }
      return base::ErrnoStatus(err, "rename into " + localdir::Quote(key));
    }
    staged.Release();
    SHADOWFS_RETURN_IF_ERROR(
        localdir::Fsync(parent->get(), "directory of " + localdir::Quote(key)));
    if (CrashHere(CrashPoint::kAfterRename)) return SimulatedCrash();

    // The rename changed the ctime; record the final one and drop the old inode's record. If
    // this fails the two-record sidecar still names the new file by inode (its ETag is then
    // recomputed once), so the Put has succeeded either way.
    if (::fstat(staged.fd.get(), &st) == 0) {
      record.mtime_ns = localdir::MtimeNs(st);
      record.ctime_ns = localdir::CtimeNs(st);
    }
    (void)sidecars_.Store(key, {record}, localdir::Durability::kFile);
    return record.ToInfo(key);
  }
}

Result<ObjectInfo> LocalDirBlobStore::ReplaceMetadata(std::string_view key, const LocalKey& k,
                                                      const CopyOptions& options) {
  base::MutexLock lock(&LockFor(key));
  SHADOWFS_ASSIGN_OR_RETURN(auto resolved, ResolveLocked(key, k));
  const ObjectInfo* current = resolved ? &resolved->info : nullptr;
  SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(options.source_conditions, current, false, key));
  if (!resolved) return Status::NotFound("no such object " + localdir::Quote(key));
  SidecarRecord record;
  record.ino = static_cast<uint64_t>(resolved->found.st.st_ino);
  record.is_dir = resolved->found.is_dir;
  record.etag = resolved->info.etag;
  record.size = resolved->info.size;
  record.content_type =
      options.replace_metadata ? options.content_type : resolved->info.content_type;
  record.metadata = options.replace_metadata ? *options.replace_metadata : resolved->info.metadata;
  record.mtime_ns = NowNs();
  if (!record.is_dir) {
    // S3 gives an object copied onto itself a new Last-Modified. If the file is not ours to
    // touch (owned by another user), keep its mtime rather than fail a metadata change.
    int fd = resolved->found.fd.get();
    struct timespec times[2] = {{0, UTIME_OMIT}, localdir::ToTimespec(record.mtime_ns)};
    (void)::futimens(fd, times);
    struct stat st;
    if (::fstat(fd, &st) != 0) return base::ErrnoStatus(errno, "stat " + localdir::Quote(key));
    record.mtime_ns = localdir::MtimeNs(st);
    record.ctime_ns = localdir::CtimeNs(st);
  }
  SHADOWFS_RETURN_IF_ERROR(sidecars_.Store(key, {record}, localdir::Durability::kFileAndDir));
  return record.ToInfo(key);
}

}  // namespace shadowfs::blobstore
