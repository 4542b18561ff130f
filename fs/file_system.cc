// FileSystem: construction, shutdown, names and keys, statfs. The operations live in
// file_system_{lookup,modify,rename,files,dirs}.cc.
#include "fs/file_system.h"

#include <sys/stat.h>

#include <algorithm>

#include "blobstore/base/logging.h"
#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {
constexpr size_t kMaxNameBytes = 255;
constexpr size_t kMaxKeyBytes = 1024;

MetaDefaults DefaultsOf(const FileSystemOptions& o) {
  return MetaDefaults{.uid = o.default_uid,
                      .gid = o.default_gid,
                      .file_mode = o.default_file_mode & 07777,
                      .dir_mode = o.default_dir_mode & 07777};
}
}  // namespace

FileSystem::Impl::Impl(FileSystemDeps deps, FileSystemOptions opts)
    : primary(deps.primary),
      store(deps.store),
      access(deps.access),
      fetches(deps.fetches),
      rt(deps.runtime),
      options(std::move(opts)),
      defaults(DefaultsOf(options)),
      mount_time(deps.runtime.clock->Now()),
      dir_cache(options.dir_cache_ttl),
      versions(options.version_cache_entries, options.metadata_ttl) {
  base::MutexLock lock(&mu);
  Inode* root = inodes.Get(kRootInode);
  root->attr.mode = S_IFDIR | defaults.dir_mode;
  root->attr.uid = defaults.uid;
  root->attr.gid = defaults.gid;
  root->attr.atime = root->attr.mtime = root->attr.ctime = mount_time;
  root->attr_expiry = base::MonoTime::max();
}

Result<std::unique_ptr<FileSystem>> FileSystem::Create(FileSystemDeps deps,
                                                       FileSystemOptions options) {
  if (deps.primary == nullptr || deps.runtime.clock == nullptr || deps.runtime.logger == nullptr) {
    return Status::InvalidArgument("FileSystem needs a primary and a runtime");
  }
  if (!options.prefix.empty() && options.prefix.back() != '/') options.prefix += '/';
  blobstore::BlobStore* primary = deps.primary;
  blobstore::ListOptions probe{.prefix = options.prefix, .delimiter = "/", .max_keys = 1};
  auto page = primary->List(probe);
  if (!page.ok()) {
    const Status& st = page.status();
    std::string where = primary->Describe();
    switch (st.code()) {
      case base::StatusCode::kNotFound:
        return Status::NotFound(where + ": bucket does not exist (" + st.message() + ")");
      case base::StatusCode::kPermissionDenied:
        return Status::PermissionDenied(where + ": access denied: check credentials (" +
                                        st.message() + ")");
      case base::StatusCode::kUnavailable:
        return Status::Unavailable(where + ": the primary does not answer (" + st.message() + ")");
      default:
        return st.WithContext(where);
    }
  }
  auto conditional = primary->SupportsConditionalWrites();
  if (!conditional.ok() || !*conditional) {
    base::LogStream(*deps.runtime.logger, base::LogLevel::kWarning)
        << primary->Describe()
        << " does not honour conditional writes: uploads compare ETags with a HEAD first, "
           "which leaves a short window for lost updates";
  }
  auto impl = std::make_unique<Impl>(deps, options);
  impl->budget = std::make_unique<ReadaheadBudget>(options.readahead_memory);
  if (deps.runtime.metrics) {
    impl->read_metrics = std::make_unique<ReadMetrics>(deps.runtime.metrics);
    impl->answered_from_shadow = &deps.runtime.metrics->GetCounter(
        "shadowfs_metadata_answered_from_shadow_total",
        "Lookups, getattrs and opens answered without a request because a shadow vouched for the "
        "version");
    impl->lookups_read = &deps.runtime.metrics->GetCounter(
        "shadowfs_lookups_read_total",
        "Lookups of unknown files that fetched the file's first bytes instead of its HEAD");
    impl->joined_fetches = &deps.runtime.metrics->GetCounter(
        "shadowfs_lookups_joined_prefetch_total",
        "Lookups of unknown files answered by a prefetch of the file already under way");
  }
  impl->background = std::make_unique<base::ThreadPool>("readahead", 8, 256);
  UploaderOptions uo;
  uo.conflict = options.conflict;
  uo.writeback = options.writeback;
  uo.hostname = options.hostname;
  SHADOWFS_ASSIGN_OR_RETURN(impl->uploader,
                            Uploader::Create(primary, deps.store, uo, deps.runtime));
  impl->meta_pool =
      std::make_unique<base::ThreadPool>("fs-meta", std::max(1, options.metadata_parallelism));
  impl->lookup_pool = std::make_unique<base::ThreadPool>("fs-lookup", 8);
  return std::unique_ptr<FileSystem>(new FileSystem(std::move(impl)));
}

FileSystem::FileSystem(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

FileSystem::~FileSystem() {
  Status st = Shutdown();
  if (!st.ok()) {
    base::LogStream(*impl_->rt.logger, base::LogLevel::kError)
        << "uploads still pending at unmount stay queued for the next mount: " << st.ToString();
  }
  // Open files are dropped before the uploader they use.
  {
    base::MutexLock lock(&impl_->mu);
    impl_->file_handles.clear();
    impl_->open_files.clear();
  }
  impl_->lookup_pool.reset();
  impl_->meta_pool.reset();
  impl_->uploader.reset();
}

Status FileSystem::Shutdown(std::optional<base::MonoTime> deadline) {
  {
    base::MutexLock lock(&impl_->mu);
    impl_->shut_down = true;
  }
  if (!impl_->uploader) return Status::Ok();
  return impl_->uploader->Drain(deadline);
}

FileSystem::Stats FileSystem::stats() const {
  Stats s;
  {
    base::MutexLock lock(&impl_->mu);
    s.inodes = impl_->inodes.size();
    s.open_files = impl_->open_files.size();
    s.known_versions = impl_->versions.counters().entries;
  }
  s.answered_from_shadow = impl_->answered_from_shadow->value();
  s.lookups_read = impl_->lookups_read->value();
  s.joined_fetches = impl_->joined_fetches->value();
  if (impl_->read_metrics) {
    s.reads_from_shadow = impl_->read_metrics->shadow_hits();
    s.reads_from_primary = impl_->read_metrics->primary_reads();
  }
  if (impl_->uploader) {
    s.pending_uploads = impl_->uploader->pending();
    s.conflicts = impl_->uploader->conflicts();
  }
  return s;
}

Result<FsStats> FileSystem::StatFs() {
  // An object store has no capacity to report; like s3fs, a large synthetic size.
  FsStats s;
  s.block_size = 4096;
  s.blocks = (256ull << 40) / s.block_size;
  s.blocks_free = s.blocks;
  s.blocks_available = s.blocks;
  s.files = 1ull << 32;
  s.files_free = s.files;
  s.name_max = kMaxNameBytes;
  return s;
}

Status FileSystem::Link(InodeId, InodeId, std::string_view) {
  return Status::PermissionDenied("hard links are not supported on an object store");
}

Status FileSystem::Impl::ValidateName(std::string_view name) {
  if (name.empty() || name == "." || name == "..") {
    return Status::InvalidArgument("invalid file name '" + std::string(name) + "'");
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("file names cannot contain '/' or NUL");
  }
  if (name.size() > kMaxNameBytes) {
    return Status::NameTooLong("a file name is at most 255 bytes");
  }
  return Status::Ok();
}

std::string FileSystem::Impl::DirKey(const std::string& path) const {
  return path.empty() ? options.prefix : options.prefix + path + "/";
}

Result<std::string> FileSystem::Impl::ChildKey(InodeId parent, std::string_view name) {
  SHADOWFS_RETURN_IF_ERROR(ValidateName(name));
  const Inode* p = inodes.Get(parent);
  if (p == nullptr) return Status::NotFound("no such directory (stale inode)");
  if (p->kind != FileKind::kDirectory) return Status::NotDirectory("not a directory");
  auto path = inodes.Path(parent);
  if (!path) return Status::NotFound("the directory was removed");
  std::string key = DirKey(*path) + std::string(name);
  // A directory needs room for its marker's "/".
  if (key.size() + 1 > kMaxKeyBytes) {
    return Status::NameTooLong("the object key would exceed 1024 bytes");
  }
  return key;
}

Result<std::string> FileSystem::Impl::KeyOf(const Inode& inode) {
  auto path = inodes.Path(inode.id);
  if (!path) return Status::NotFound("the file was removed");
  return inode.kind == FileKind::kDirectory ? DirKey(*path) : FileKey(*path);
}

Status FileSystem::Impl::CheckWritable() const {
  if (options.read_only) return Status::PermissionDenied("read-only mount");
  return Status::Ok();
}

void FileSystem::Impl::WarnOnce(const std::string& key, std::string_view what) {
  if (warned.size() > 10000 || !warned.insert(key).second) return;
  base::LogStream(*rt.logger, base::LogLevel::kWarning) << "'" << key << "': " << what;
}

void FileSystem::Impl::InvalidateDirOf(const Inode& inode) {
  if (inode.parent == 0) return;
  if (auto path = inodes.Path(inode.parent)) dir_cache.Invalidate(DirKey(*path));
}

}  // namespace shadowfs::fs
