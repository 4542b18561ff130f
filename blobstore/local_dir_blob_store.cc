// LocalDirBlobStore: opening, reading, listing and copying. Writes are in
// local_dir_blob_store_write.cc.
#include "blobstore/local_dir_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>

#include <cerrno>
#include <functional>

#include "blobstore/base/digest.h"

namespace shadowfs::blobstore {

using base::UniqueFd;
using localdir::LocalKey;
using localdir::SidecarRecord;

namespace {

Status NoSuchObject(std::string_view key) {
  return Status::NotFound("no such object '" + std::string(key) + "'");
}

// Makes (or opens) a directory of the store's own under ROOT/.shadowfs.
Result<UniqueFd> OwnDir(int parent_fd, const std::string& name, const std::string& shown) {
  if (::mkdirat(parent_fd, name.c_str(), 0700) != 0 && errno != EEXIST) {
    return base::ErrnoStatus(errno, "create " + shown);
  }
  auto fd = localdir::OpenDirAt(parent_fd, name);
  if (!fd.ok() && fd.status().IsNotFound()) {
    return Status::InvalidArgument(shown + " exists but is not a directory; shadowfs keeps its " +
                                   "own state there, so move it away");
  }
  return fd;
}

// Removes what crashed or killed writers left in tmp/. Only called while no other store has the
// directory open, so nothing in tmp/ is in use.
void CleanTemporaryFiles(int tmp_fd) {
  int fd = ::openat(tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return;
  }
  while (struct dirent* de = ::readdir(dir)) {
    std::string name = de->d_name;
    if (name != "." && name != "..") ::unlinkat(tmp_fd, name.c_str(), 0);
  }
  ::closedir(dir);
}

// An ETag computed from content is only cached once the file is older than the coarsest
// timestamp granularity: a write in the same tick as the one we hashed could otherwise leave
// size, mtime and ctime unchanged and the cached ETag stale (git's "racy clean" problem).
// Compared with the kernel's clock because ctime comes from it, not from the injected Clock.
bool RecentlyChanged(const struct stat& st) {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  return now_ns - localdir::CtimeNs(st) < 2'000'000'000;
}

}  // namespace

Result<std::unique_ptr<LocalDirBlobStore>> LocalDirBlobStore::Open(std::string root,
                                                                   base::Clock* clock) {
  if (root.empty() || root.front() != '/') {
    return Status::InvalidArgument("the local primary must be an absolute directory path, not '" +
                                   root + "'");
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("directory '" + root + "' does not exist");
    if (errno == ENOTDIR) return Status::InvalidArgument("'" + root + "' is not a directory");
    return base::ErrnoStatus(errno, "open directory '" + root + "'");
  }
  UniqueFd root_fd(fd);
  const std::string own = root + "/" + std::string(localdir::kReservedName);
  SHADOWFS_ASSIGN_OR_RETURN(UniqueFd own_fd,
                            OwnDir(root_fd.get(), std::string(localdir::kReservedName), own));
  SHADOWFS_ASSIGN_OR_RETURN(UniqueFd tmp_fd, OwnDir(own_fd.get(), "tmp", own + "/tmp"));
  SHADOWFS_ASSIGN_OR_RETURN(UniqueFd meta_fd, OwnDir(own_fd.get(), "meta", own + "/meta"));

  fd = ::openat(own_fd.get(), "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoStatus(errno, "open " + own + "/lock");
  UniqueFd lock_fd(fd);
  if (::flock(lock_fd.get(), LOCK_EX | LOCK_NB) == 0) {
    CleanTemporaryFiles(tmp_fd.get());
  } else if (errno != EWOULDBLOCK) {
    return base::ErrnoStatus(errno, "lock " + own + "/lock");
  }
  while (::flock(lock_fd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) return base::ErrnoStatus(errno, "lock " + own + "/lock");
  }
  return std::make_unique<LocalDirBlobStore>(OpenTag(), std::move(root), clock, std::move(root_fd),
                                             std::move(tmp_fd), std::move(meta_fd),
                                             std::move(lock_fd));
}

LocalDirBlobStore::LocalDirBlobStore(OpenTag, std::string root, base::Clock* clock,
                                     UniqueFd root_fd, UniqueFd tmp_fd, UniqueFd meta_fd,
                                     UniqueFd lock_fd)
    : root_(std::move(root)),
      clock_(clock),
      root_fd_(std::move(root_fd)),
      tmp_fd_(std::move(tmp_fd)),
      meta_fd_(std::move(meta_fd)),
      lock_fd_(std::move(lock_fd)),
      sidecars_(meta_fd_.get(), tmp_fd_.get(), &namer_) {}

base::Mutex& LocalDirBlobStore::LockFor(std::string_view key) {
  return key_locks_[std::hash<std::string_view>()(key) % key_locks_.size()];
}

int64_t LocalDirBlobStore::NowNs() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Now().time_since_epoch())
      .count();
}

Result<std::optional<LocalDirBlobStore::Found>> LocalDirBlobStore::OpenObject(const LocalKey& k) {
  auto parent = localdir::OpenDirs(root_fd_.get(), k.dirs, k.dirs.size());
  if (!parent.ok()) {
    if (parent.status().IsNotFound()) return std::optional<Found>();
    return parent.status();
  }
  auto fd = k.is_marker ? localdir::OpenDirAt(parent->get(), k.name)
                        : localdir::OpenFileAt(parent->get(), k.name);
  if (!fd.ok()) {
    if (fd.status().IsNotFound()) return std::optional<Found>();
    return fd.status();
  }
  Found found;
  found.fd = std::move(*fd);
  found.is_dir = k.is_marker;
  if (::fstat(found.fd.get(), &found.st) != 0) return base::ErrnoStatus(errno, "stat");
  return std::optional<Found>(std::move(found));
}

Result<std::optional<ObjectInfo>> LocalDirBlobStore::DescribeFound(std::string_view key,
                                                                   const Found& found, bool locked,
                                                                   bool* needs_lock) {
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<SidecarRecord> records, sidecars_.Load(key));
  const SidecarRecord* exact = nullptr;
  const SidecarRecord* same_inode = nullptr;
  for (const auto& r : records) {
    if (r.ino != static_cast<uint64_t>(found.st.st_ino) || r.is_dir != found.is_dir) continue;
    same_inode = &r;
    if (r.Describes(found.st)) exact = &r;
  }
  ObjectInfo info;
  info.key = std::string(key);
  if (found.is_dir) {
    if (same_inode != nullptr && same_inode->implicit_dir) return std::optional<ObjectInfo>();
    info.etag = base::Md5Hex("");
    info.last_modified =
        localdir::FromNs(same_inode ? same_inode->mtime_ns : localdir::MtimeNs(found.st));
    if (same_inode != nullptr) {
      info.content_type = same_inode->content_type;
      info.metadata = same_inode->metadata;
    }
    return std::optional<ObjectInfo>(std::move(info));
  }
  info.size = static_cast<uint64_t>(found.st.st_size);
  info.last_modified = localdir::FromNs(localdir::MtimeNs(found.st));
  if (exact != nullptr) {
    info.etag = exact->etag;
    info.content_type = exact->content_type;
    info.metadata = exact->metadata;
    return std::optional<ObjectInfo>(std::move(info));
  }
  // Written outside shadowfs (or never seen): the content decides the ETag. Only under the key's
  // lock, so that the cached result cannot overwrite a concurrent Put's records.
  if (!locked) {
    *needs_lock = true;
    return std::optional<ObjectInfo>();
  }
  SHADOWFS_ASSIGN_OR_RETURN(info.etag, localdir::Md5OfFile(found.fd.get(), info.size));
  SidecarRecord record;
  record.ino = static_cast<uint64_t>(found.st.st_ino);
  record.size = info.size;
  record.mtime_ns = localdir::MtimeNs(found.st);
  record.ctime_ns = localdir::CtimeNs(found.st);
  record.etag = info.etag;
  if (same_inode != nullptr) {  // edited in place: the user metadata still belongs to it
    record.content_type = info.content_type = same_inode->content_type;
    record.metadata = info.metadata = same_inode->metadata;
  }
  if (!RecentlyChanged(found.st)) {
    // A cache: if it cannot be written (a full or read-only disk) the read still succeeds.
    // Records of other inodes are stale here, as under the key lock no Put is in flight.
    bool carries_metadata = !record.metadata.empty() || !record.content_type.empty();
    (void)sidecars_.Store(
        key, {record},
        carries_metadata ? localdir::Durability::kFile : localdir::Durability::kNone);
  }
  return std::optional<ObjectInfo>(std::move(info));
}

Result<std::optional<LocalDirBlobStore::Resolved>> LocalDirBlobStore::ResolveLocked(
    std::string_view key, const LocalKey& k) {
  SHADOWFS_ASSIGN_OR_RETURN(auto found, OpenObject(k));
  if (!found) return std::optional<Resolved>();
  bool unused = false;
  SHADOWFS_ASSIGN_OR_RETURN(auto info, DescribeFound(key, *found, true, &unused));
  if (!info) return std::optional<Resolved>();
  return std::optional<Resolved>(Resolved{std::move(*found), std::move(*info)});
}

Result<std::optional<LocalDirBlobStore::Resolved>> LocalDirBlobStore::Resolve(std::string_view key,
                                                                              const LocalKey& k) {
  SHADOWFS_ASSIGN_OR_RETURN(auto found, OpenObject(k));
  if (!found) return std::optional<Resolved>();
  bool needs_lock = false;
  SHADOWFS_ASSIGN_OR_RETURN(auto info, DescribeFound(key, *found, false, &needs_lock));
  if (!needs_lock) {
    if (!info) return std::optional<Resolved>();
    return std::optional<Resolved>(Resolved{std::move(*found), std::move(*info)});
  }
  base::MutexLock lock(&LockFor(key));
  return ResolveLocked(key, k);
}

Result<std::optional<ObjectInfo>> LocalDirBlobStore::DescribeFileEntry(int dir_fd,
                                                                       const std::string& name,
                                                                       const std::string& key) {
  auto fd = localdir::OpenFileAt(dir_fd, name);
  if (!fd.ok()) {
    if (fd.status().IsNotFound()) return std::optional<ObjectInfo>();
    return fd.status().WithContext("listing '" + key + "'");
  }
  Found found;
  found.fd = std::move(*fd);
  if (::fstat(found.fd.get(), &found.st) != 0) return base::ErrnoStatus(errno, "stat " + key);
  bool needs_lock = false;
  SHADOWFS_ASSIGN_OR_RETURN(auto info, DescribeFound(key, found, false, &needs_lock));
  if (!needs_lock) return info;
  auto k = localdir::ParseLocalKey(key);
  if (!k.ok()) return std::optional<ObjectInfo>();
  base::MutexLock lock(&LockFor(key));
  SHADOWFS_ASSIGN_OR_RETURN(auto resolved, ResolveLocked(key, *k));
  if (!resolved) return std::optional<ObjectInfo>();
  return std::optional<ObjectInfo>(std::move(resolved->info));
}

Result<std::optional<ObjectInfo>> LocalDirBlobStore::DescribeDirEntry(int dir_fd,
                                                                      const std::string& key) {
  Found found;
  found.is_dir = true;
  if (::fstat(dir_fd, &found.st) != 0) return base::ErrnoStatus(errno, "stat " + key);
  bool unused = false;
  return DescribeFound(key, found, false, &unused);
}

Result<ObjectInfo> LocalDirBlobStore::Head(std::string_view key, const Preconditions& conditions) {
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey k, localdir::ParseLocalKey(key));
  SHADOWFS_ASSIGN_OR_RETURN(auto resolved, Resolve(key, k));
  const ObjectInfo* current = resolved ? &resolved->info : nullptr;
  SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(conditions, current, false, key));
  if (!resolved) return NoSuchObject(key);
  return std::move(resolved->info);
}

Result<GetResult> LocalDirBlobStore::Get(std::string_view key, const GetOptions& options,
                                         ByteSink& sink) {
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey k, localdir::ParseLocalKey(key));
  SHADOWFS_ASSIGN_OR_RETURN(auto resolved, Resolve(key, k));
  const ObjectInfo* current = resolved ? &resolved->info : nullptr;
  SHADOWFS_RETURN_IF_ERROR(EvaluatePreconditions(options.conditions, current, false, key));
  if (!resolved) return NoSuchObject(key);
  if (!options.version_id.empty()) {
    return Status::NotFound("no version '" + options.version_id + "' of '" + std::string(key) +
                            "': a local directory keeps no versions");
  }
  GetResult result;
  result.info = std::move(resolved->info);
  auto [begin, end] = options.range.Resolve(result.info.size);
  result.offset = begin;
  result.length = end - begin;
  // The open descriptor pins the version described above, whatever Puts rename over it meanwhile.
  std::string buf(static_cast<size_t>(std::min<uint64_t>(result.length, localdir::kIoChunk)), '\0');
  for (uint64_t pos = begin; pos < end;) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(end - pos, buf.size()));
    ssize_t n = ::pread(resolved->found.fd.get(), buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "read '" + std::string(key) + "'");
    }
    if (n == 0) {
      return Status::Unavailable("'" + std::string(key) +
                                 "' shrank while being read (changed outside shadowfs)");
    }
    SHADOWFS_RETURN_IF_ERROR(
        sink.WriteAt(pos - begin, std::string_view(buf.data(), static_cast<size_t>(n))));
    pos += static_cast<uint64_t>(n);
  }
  return result;
}

Result<ListPage> LocalDirBlobStore::List(const ListOptions& options) {
  localdir::Lister lister(root_fd_.get(), this, options);
  return lister.Run();
}

Result<ObjectInfo> LocalDirBlobStore::Copy(std::string_view source_key, std::string_view dest_key,
                                           const CopyOptions& options) {
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey sk, localdir::ParseLocalKey(source_key));
  SHADOWFS_ASSIGN_OR_RETURN(LocalKey dk, localdir::ParseLocalKey(dest_key));
  if (source_key == dest_key) return ReplaceMetadata(dest_key, dk, options);
  SHADOWFS_ASSIGN_OR_RETURN(auto source, Resolve(source_key, sk));
  const ObjectInfo* current = source ? &source->info : nullptr;
  SHADOWFS_RETURN_IF_ERROR(
      EvaluatePreconditions(options.source_conditions, current, false, source_key));
  if (!source) return NoSuchObject(source_key);
  const UserMetadata& metadata =
      options.replace_metadata ? *options.replace_metadata : source->info.metadata;
  const std::string& content_type =
      options.replace_metadata ? options.content_type : source->info.content_type;
  if (dk.is_marker) {
    return PutMarker(dest_key, dk, source->info.size, metadata, content_type, {});
  }
  // Copied from the open descriptor: the bytes are those of the version the conditions checked.
  FileSource body(source->found.is_dir ? -1 : source->found.fd.get(), source->info.size);
  return PutFile(dest_key, dk, body, metadata, content_type, {});
}

}  // namespace shadowfs::blobstore
