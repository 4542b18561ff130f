// FileSystem: lookup, getattr, forget and directory listings.
#include <sys/stat.h>

#include <filesystem>
#include <map>

#include "blobstore/base/logging.h"
#include "fs/file_system_impl.h"

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

ObjectVersion VersionOf(const blobstore::ObjectInfo& info) {
  return ObjectVersion{.exists = true,
                       .etag = info.etag,
                       .version_id = info.version_id,
                       .size = info.size,
                       .last_modified = info.last_modified,
                       .content_type = info.content_type,
                       .metadata = info.metadata};
}

bool Representable(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= 255 &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

}  // namespace

ObjectVersion VersionFromInfo(const blobstore::ObjectInfo& info) { return VersionOf(info); }

Result<ObjectVersion> FileSystem::Impl::HeadDirMarker(const std::string& key) {
  auto head = primary->Head(key + "/");
  base::MutexLock lock(&mu);
  if (head.ok()) {
    ObjectVersion v = VersionOf(*head);
    Learn(key + "/", v);
    return v;
  }
  if (head.status().IsNotFound()) {
    versions.PutAbsentMarker(key + "/", rt.clock->Monotonic());
    return ObjectVersion{};  // an implicit directory
  }
  versions.Invalidate(key + "/");
  return head.status();
}

Result<ObjectVersion> FileSystem::Impl::HeadFile(const std::string& key) {
  return Answered(key, primary->Head(key));
}

Result<ObjectVersion> FileSystem::Impl::HeadFileByReading(const std::string& key) {
  std::string data(options.lookup_read_bytes, '\0');
  blobstore::BufferSink sink(data);
  blobstore::GetOptions get;
  get.range = blobstore::ByteRange::Span(0, options.lookup_read_bytes);
  Result<blobstore::GetResult> got = primary->Get(key, get, sink);
  if (!got.ok()) return Answered(key, got.status());
  const blobstore::ObjectInfo& info = got->info;
  Result<ObjectVersion> answered = Answered(key, got->info);
  if (store != nullptr && options.read_through && got->offset == 0 && got->length == info.size) {
    // The whole object: the read that follows is served from memory until its shadow (with
    // the fsyncs that takes) is written in the background, and from the shadow after.
    data.resize(got->length);
    lookup_bodies.Put(key, info.etag, data);
    shadow::FillOptions fill;
    fill.origin = shadow::Origin::kRead;
    fill.version_id = info.version_id;
    fill.valid_from = info.last_modified;
    background->Submit(
        [this, key, etag = info.etag, size = info.size, fill, data = std::move(data)] {
          // As read-through: never over a shadow of another version, which may be newer.
          if (auto held = store->Find(key); !held || held->etag == etag) {
            (void)store->Fill(key, etag, size, 0, data, fill);  // else only not cached
          }
          lookup_bodies.Erase(key, etag);
        });
  }
  return answered;
}

Result<ObjectVersion> FileSystem::Impl::Answered(const std::string& key,
                                                 Result<blobstore::ObjectInfo> head) {
  if (head.ok() && store != nullptr && store->Find(key)) {
    // A HEAD is an answer from the primary, as good as the reconciler's listing: it restores a
    // matching shadow's confidence (so later opens need no request) or retires a stale one.
    auto verified = store->Verify(key, head->etag, rt.clock->Now());
    if (!verified.ok()) {
      base::LogStream(*rt.logger, base::LogLevel::kWarning)
          << "cannot record the version of " << key << ": " << verified.status().ToString();
    }
  }
  base::MutexLock lock(&mu);
  if (head.ok()) {
    ObjectVersion v = VersionOf(*head);
    Learn(key, v);
    return v;
  }
  if (head.status().IsNotFound()) versions.Invalidate(key);
  return head.status();
}

FileKind FileSystem::Impl::KindOf(const ObjectVersion& v) const {
  return DecodeAttributes(v.metadata, ObjectShape::kFile, v.last_modified, defaults).kind;
}

bool FileSystem::Impl::ShadowVouches(const std::string& key, const std::string& etag) {
  if (store == nullptr || etag.empty()) return false;
  std::optional<shadow::ShadowInfo> s = store->Find(key);
  if (!s || s->etag != etag) return false;
  base::WallTime now = rt.clock->Now();
  if (s->valid_from > now) return false;
  if (s->expires_at != base::WallTime{} && s->expires_at <= now) return false;
  return s->confidence >= store->min_confidence();
}

bool FileSystem::Impl::DirectoryVouched(const std::string& dir_key) {
  if (store == nullptr) return false;
  constexpr size_t kLookAt = 8;
  base::WallTime now = rt.clock->Now();
  for (const shadow::ShadowInfo& s : store->List(dir_key, kLookAt)) {
    if (s.valid_from > now) continue;
    if (s.expires_at != base::WallTime{} && s.expires_at <= now) continue;
    if (s.confidence >= store->min_confidence()) return true;
  }
  return false;
}

std::optional<ObjectVersion> FileSystem::Impl::VouchedDirectory(const std::string& dir_key) {
  std::optional<VersionCache::Known> marker;
  {
    base::MutexLock lock(&mu);
    marker = versions.Get(dir_key, rt.clock->Monotonic());
  }
  if (!marker || !marker->fresh || !DirectoryVouched(dir_key)) return std::nullopt;
  return marker->version;
}

void FileSystem::Impl::Learn(const std::string& key, const ObjectVersion& version) {
  versions.Put(key, version, rt.clock->Monotonic());
}

void FileSystem::LearnVersion(const blobstore::ObjectInfo& version) {
  Impl& d = *impl_;
  if (version.key.empty() || version.key.ends_with('/') || version.etag.empty()) return;
  base::MutexLock lock(&d.mu);
  std::optional<VersionCache::Known> known = d.versions.Get(version.key, d.rt.clock->Monotonic());
  if (known && known->version.etag != version.etag) return;
  d.Learn(version.key, VersionOf(version));
}

void FileSystem::LearnDirectory(const std::string& dir_key, bool has_marker,
                                base::MonoTime listed_at) {
  Impl& d = *impl_;
  // A marker's listing has no metadata: only its absence is worth remembering.
  if (has_marker || dir_key == d.options.prefix || !dir_key.ends_with('/')) return;
  base::MutexLock lock(&d.mu);
  d.versions.PutAbsentMarker(dir_key, listed_at);
}

Result<Resolved> FileSystem::Impl::Resolve(InodeId parent, std::string_view name, int32_t pid) {
  std::string key;
  std::shared_ptr<const Listing> listing;
  std::optional<std::string> known_etag;     // of a file inode we already know under this name
  std::optional<VersionCache::Known> known;  // the version last learned of `key`
  bool maybe_queued = false;
  {
    base::MutexLock lock(&mu);
    SHADOWFS_ASSIGN_OR_RETURN(key, ChildKey(parent, name));
    if (const Inode* c = inodes.Child(parent, name)) {
      if (c->local_only)
        return Resolved{.kind = c->kind, .version = c->version, .from_inode = true};
      if (c->kind == FileKind::kDirectory && rt.clock->Monotonic() < c->attr_expiry) {
        return Resolved{.kind = c->kind, .version = c->version, .from_inode = true};
      }
      if (c->kind != FileKind::kDirectory && c->version.exists) known_etag = c->version.etag;
    }
    known = versions.Get(key, rt.clock->Monotonic());
    if (known && known_etag && known->version.etag != *known_etag) known.reset();
    if (known && !known_etag) known_etag = known->version.etag;
    maybe_queued = queued_keys.count(key) > 0;
    auto path = inodes.Path(parent);
    if (path) listing = dir_cache.Get(DirKey(*path), rt.clock->Monotonic());
  }
  if (maybe_queued && uploader->PendingStagingPath(key)) {
    // Committed here in writeback mode, still on its way to the primary.
    base::MutexLock lock(&mu);
    if (const Inode* c = inodes.Child(parent, name); c && c->kind == FileKind::kRegular) {
      return Resolved{.kind = c->kind, .version = c->version, .from_inode = true};
    }
  }
  auto from_known = [&]() {
    return Resolved{.kind = KindOf(known->version), .version = known->version};
  };
  auto head_file = [&]() -> Result<Resolved> {
    SHADOWFS_ASSIGN_OR_RETURN(ObjectVersion v, HeadFile(key));
    FileKind kind = KindOf(v);
    return Resolved{.kind = kind, .version = std::move(v)};
  };
  if (listing) {
    const ListedEntry* e = DirCache::Find(*listing, name);
    if (e == nullptr) return Status::NotFound("no such file or directory");
    if (e->kind == FileKind::kDirectory) {
      SHADOWFS_ASSIGN_OR_RETURN(auto marker, HeadDirMarker(key));
      return Resolved{.kind = FileKind::kDirectory, .version = std::move(marker)};
    }
    // The listing is the primary's word on the ETag; the metadata we remember of that version
    // stands while it is fresh.
    if (known && known->fresh && !e->object.etag.empty() && e->object.etag == known->version.etag) {
      return from_known();
    }
    return head_file();
  }
  // No request at all when a confident shadow vouches for the version we know. This skips the
  // check for a directory of the same name created by another client too: like a changed
  // ETag, it shows once the shadow's confidence drops or the known version is metadata_ttl old.
  if (known && known->fresh && ShadowVouches(key, known->version.etag)) {
    answered_from_shadow->Increment();
    return from_known();
  }
  // A directory whose marker state we know, with a confident shadow beneath it: no request
  // either. Where a file of the same name exists too the directory is shown, as below.
  if (std::optional<ObjectVersion> dir = VouchedDirectory(key + "/")) {
    answered_from_shadow->Increment();
    return Resolved{.kind = FileKind::kDirectory, .version = std::move(*dir)};
  }
  // A prefetch of this file is under way: its GET answers sooner than a HEAD of ours would,
  // tells the version and leaves the shadow the read is served from.
  if (!known && fetches != nullptr && fetches->AwaitFetch(key, options.join_fetch_for)) {
    {
      base::MutexLock lock(&mu);
      known = versions.Get(key, rt.clock->Monotonic());
    }
    if (known && known->fresh && ShadowVouches(key, known->version.etag)) {
      answered_from_shadow->Increment();
      joined_fetches->Increment();
      return from_known();
    }
    known.reset();  // as it was: nothing learned before this lookup
  }
  blobstore::ListOptions lo{.prefix = key + "/", .max_keys = 1};
  const base::MonoTime listed_at = rt.clock->Monotonic();
  Result<Resolved> file = Status::IOError("unset");
  std::optional<Result<blobstore::ListPage>> page;
  if (known_etag) {
    // A file we already know with the same version needs no directory check: one request.
    file = head_file();
    if (!file.ok() && !file.status().IsNotFound()) return file.status();
    if (file.ok() && *known_etag == file->version.etag) return file;
    page.emplace(primary->List(lo));
  } else {
    // A name never seen: the HEAD and the one-key List go out together (one round trip). A
    // process that reads what it looks up gets the object's first bytes instead of its HEAD.
    const std::string process = options.lookup_read_bytes > 0 ? ProcessName(pid) : "";
    const bool read_too = lookup_reads.ShouldRead(process, listed_at);
    base::Mutex list_mu;
    base::CondVar list_cv;
    std::optional<Result<blobstore::ListPage>> listed;
    lookup_pool->Submit([&] {
      auto r = primary->List(lo);
      base::MutexLock lock(&list_mu);
      listed.emplace(std::move(r));
      list_cv.SignalAll();
    });
    if (read_too) {
      lookups_read->Increment();
      Result<ObjectVersion> v = HeadFileByReading(key);
      file = v.ok() ? Result<Resolved>(Resolved{.kind = KindOf(*v), .version = std::move(*v)})
                    : Result<Resolved>(v.status());
    } else {
      file = head_file();
    }
    base::MutexLock lock(&list_mu);
    while (!listed) list_cv.Wait(&list_mu);
    page = std::move(listed);
    if (!file.ok() && !file.status().IsNotFound()) return file.status();
    if (file.ok() && file->kind == FileKind::kRegular && page->ok() && (*page)->objects.empty() &&
        (*page)->common_prefixes.empty()) {
      lookup_reads.Looked(key, process, listed_at);
    }
  }
  if (!page->ok()) return page->status();
  const blobstore::ListPage& found = **page;
  bool is_dir = !found.objects.empty() || !found.common_prefixes.empty();
  if (!is_dir) {
    if (file.ok()) return file;
    return Status::NotFound("no such file or directory");
  }
  if (file.ok()) {
    base::MutexLock lock(&mu);
    WarnOnce(key, "both a file and a directory of this name exist; showing the directory");
  }
  ObjectVersion marker;
  if (found.objects.empty() || found.objects[0].key != key + "/") {
    // A marker sorts first under its prefix: the one-key List shows there is none.
    base::MutexLock lock(&mu);
    versions.PutAbsentMarker(key + "/", listed_at);
  } else {
    // The listing gives the marker's ETag: metadata remembered of that version spares a HEAD.
    const blobstore::ObjectInfo& m = found.objects[0];
    std::optional<VersionCache::Known> k;
    {
      base::MutexLock lock(&mu);
      k = versions.Get(m.key, rt.clock->Monotonic());
    }
    if (k && k->fresh && !m.etag.empty() && k->version.etag == m.etag) {
      marker = k->version;
    } else {
      SHADOWFS_ASSIGN_OR_RETURN(marker, HeadDirMarker(key));
    }
  }
  return Resolved{.kind = FileKind::kDirectory, .version = std::move(marker)};
}

void FileSystem::Impl::SetVersion(Inode& inode, const ObjectVersion& version) {
  inode.version = version;
  ObjectShape shape =
      inode.kind == FileKind::kDirectory ? ObjectShape::kDirMarker : ObjectShape::kFile;
  base::WallTime lm = version.exists ? version.last_modified : mount_time;
  Attributes attr = DecodeAttributes(version.metadata, shape, lm, defaults);
  attr.ino = inode.id;
  attr.kind = inode.kind;
  if (inode.kind == FileKind::kSymlink) attr.mode = S_IFLNK | (attr.mode & 07777);
  if (inode.kind == FileKind::kRegular) attr.mode = S_IFREG | (attr.mode & 07777);
  attr.size = inode.kind == FileKind::kDirectory ? 4096 : version.size;
  inode.attr = attr;
  inode.attr_expiry = rt.clock->Monotonic() +
                      std::chrono::duration_cast<std::chrono::nanoseconds>(options.attr_timeout);
}

Attributes FileSystem::Impl::AttrOf(const Inode& inode) {
  Attributes attr = inode.attr;
  attr.ino = inode.id;
  auto it = open_files.find(inode.id);
  if (it != open_files.end() && it->second->data) {
    attr.size = it->second->data->size();
    if (it->second->written) attr.mtime = attr.ctime = it->second->last_change;
  }
  return attr;
}

Entry FileSystem::Impl::EntryOf(const Inode& inode) {
  return Entry{.attr = AttrOf(inode),
               .generation = inode.generation,
               .entry_timeout = options.entry_timeout,
               .attr_timeout = options.attr_timeout};
}

Entry FileSystem::Impl::Install(InodeId parent, std::string_view name, const Resolved& r) {
  Inode& inode = inodes.Attach(parent, name, r.kind);
  if (!r.from_inode) SetVersion(inode, r.version);
  ++inode.lookups;
  return EntryOf(inode);
}

Result<Entry> FileSystem::Lookup(InodeId parent, std::string_view name, const Caller& caller) {
  SHADOWFS_ASSIGN_OR_RETURN(Resolved r, impl_->Resolve(parent, name, caller.pid));
  base::MutexLock lock(&impl_->mu);
  if (impl_->inodes.Get(parent) == nullptr) return Status::NotFound("the directory was removed");
  return impl_->Install(parent, name, r);
}

void FileSystem::Forget(InodeId ino, uint64_t nlookup) {
  base::MutexLock lock(&impl_->mu);
  impl_->inodes.Forget(ino, nlookup);
}

Status FileSystem::Impl::Refresh(InodeId ino, bool force) {
  std::string key;
  FileKind kind;
  std::optional<std::string> vouch_etag;  // the inode's version, if a shadow may vouch for it
  ObjectVersion dir_version;              // a directory's marker as the inode has it
  {
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr) return Status::NotFound("stale inode");
    if (ino == kRootInode || inode->local_only || inode->unlinked || inode->parent == 0) {
      return Status::Ok();
    }
    auto of = open_files.find(ino);
    if (of != open_files.end() && (of->second->written || of->second->attrs_pending)) {
      return Status::Ok();  // local state is newer than the primary's
    }
    base::MonoTime now = rt.clock->Monotonic();
    if (!force && now < inode->attr_expiry) return Status::Ok();
    SHADOWFS_ASSIGN_OR_RETURN(key, KeyOf(*inode));
    kind = inode->kind;
    if (kind == FileKind::kDirectory) dir_version = inode->version;
    if (!force && kind != FileKind::kDirectory && inode->version.exists) {
      auto known = versions.Get(key, now);
      if (known && known->fresh && known->version.etag == inode->version.etag) {
        vouch_etag = inode->version.etag;
      }
    }
  }
  if (!force && kind == FileKind::kDirectory) {
    // The marker state we know still matches the inode's, and a shadow beneath vouches.
    std::optional<ObjectVersion> known = VouchedDirectory(key);
    if (known && known->exists == dir_version.exists && known->etag == dir_version.etag) {
      vouch_etag = dir_version.etag;
    }
  } else if (vouch_etag && !ShadowVouches(key, *vouch_etag)) {
    vouch_etag.reset();
  }
  if (vouch_etag) {
    base::MutexLock lock(&mu);
    Inode* inode = inodes.Get(ino);
    if (inode == nullptr) return Status::NotFound("stale inode");
    if (inode->version.etag == *vouch_etag) {
      inode->attr_expiry =
          rt.clock->Monotonic() +
          std::chrono::duration_cast<std::chrono::nanoseconds>(options.attr_timeout);
      answered_from_shadow->Increment();
      return Status::Ok();
    }
  }
  ObjectVersion version;
  if (kind == FileKind::kDirectory) {
    key.pop_back();
    SHADOWFS_ASSIGN_OR_RETURN(version, HeadDirMarker(key));
  } else {
    auto head = HeadFile(key);
    if (!head.ok()) {
      if (head.status().IsNotFound() && uploader->PendingStagingPath(key)) return Status::Ok();
      return head.status();
    }
    version = std::move(*head);
  }
  base::MutexLock lock(&mu);
  Inode* inode = inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  if (kind != FileKind::kDirectory && KindOf(version) != inode->kind) {
    return Status::NotFound("the file was replaced");
  }
  SetVersion(*inode, version);
  return Status::Ok();
}

Result<Attributes> FileSystem::GetAttr(InodeId ino) {
  SHADOWFS_RETURN_IF_ERROR(impl_->Refresh(ino, false));
  base::MutexLock lock(&impl_->mu);
  const Inode* inode = impl_->inodes.Get(ino);
  if (inode == nullptr) return Status::NotFound("stale inode");
  return impl_->AttrOf(*inode);
}

Result<Listing> FileSystem::Impl::FetchListing(const std::string& dir_key) {
  std::map<std::string, ListedEntry> entries;
  blobstore::ListOptions lo{.prefix = dir_key, .delimiter = "/"};
  std::vector<std::string> shadowed;
  const base::MonoTime started = rt.clock->Monotonic();
  std::optional<std::string> marker_etag;
  while (true) {
    SHADOWFS_ASSIGN_OR_RETURN(blobstore::ListPage page, primary->List(lo));
    for (auto& obj : page.objects) {
      if (obj.key == dir_key) marker_etag = obj.etag;
      std::string name = obj.key.substr(dir_key.size());
      if (!Representable(name)) continue;  // the marker itself, "a//b", "."
      auto [it, inserted] = entries.try_emplace(name);
      if (!inserted) {
        shadowed.push_back(obj.key);
        continue;
      }
      it->second = ListedEntry{.name = name, .kind = FileKind::kRegular, .object = std::move(obj)};
    }
    for (const auto& cp : page.common_prefixes) {
      std::string name = cp.substr(dir_key.size());
      if (!name.empty()) name.pop_back();
      if (!Representable(name)) continue;
      auto& e = entries[name];
      if (!e.name.empty() && e.kind == FileKind::kRegular) shadowed.push_back(dir_key + name);
      e = ListedEntry{.name = name, .kind = FileKind::kDirectory};
    }
    if (!page.truncated || page.next_continuation_token.empty()) break;
    lo.continuation_token = page.next_continuation_token;
  }
  {
    base::MutexLock lock(&mu);
    for (const auto& k : shadowed) {
      WarnOnce(k, "both a file and a directory of this name exist; showing the directory");
    }
    // The listing shows the directory's marker (or its absence) as well.
    if (dir_key != options.prefix) {
      if (marker_etag) {
        versions.ObserveEtag(dir_key, *marker_etag);
      } else {
        versions.PutAbsentMarker(dir_key, started);
      }
    }
  }
  Listing out;
  out.reserve(entries.size());
  for (auto& [name, e] : entries) out.push_back(std::move(e));
  return out;
}

Result<std::shared_ptr<const Listing>> FileSystem::Impl::GetListing(InodeId dir) {
  std::string dir_key;
  std::shared_ptr<const Listing> cached;
  {
    base::MutexLock lock(&mu);
    const Inode* inode = inodes.Get(dir);
    if (inode == nullptr) return Status::NotFound("stale inode");
    if (inode->kind != FileKind::kDirectory) return Status::NotDirectory("not a directory");
    auto path = inodes.Path(dir);
    if (!path) return Status::NotFound("the directory was removed");
    dir_key = DirKey(*path);
    cached = dir_cache.Get(dir_key, rt.clock->Monotonic());
  }
  if (!cached) {
    base::MonoTime fetched = rt.clock->Monotonic();
    SHADOWFS_ASSIGN_OR_RETURN(Listing listing, FetchListing(dir_key));
    cached = std::make_shared<const Listing>(std::move(listing));
    base::MutexLock lock(&mu);
    dir_cache.Put(dir_key, cached, fetched);
    // A version we remember that the listing contradicts was replaced by another client.
    for (const ListedEntry& e : *cached) {
      if (e.kind == FileKind::kRegular) versions.ObserveEtag(dir_key + e.name, e.object.etag);
    }
  }
  // Merge what exists only here: files created and not committed, uploads still queued.
  std::vector<ListedEntry> extra;
  std::vector<std::string> queued;
  {
    base::MutexLock lock(&mu);
    for (const Inode* c : inodes.Children(dir)) {
      if (c->local_only && DirCache::Find(*cached, c->name) == nullptr) {
        extra.push_back(ListedEntry{.name = c->name, .kind = c->kind});
      }
    }
    for (auto it = queued_keys.lower_bound(dir_key);
         it != queued_keys.end() && it->compare(0, dir_key.size(), dir_key) == 0; ++it) {
      std::string name = it->substr(dir_key.size());
      if (Representable(name) && DirCache::Find(*cached, name) == nullptr) queued.push_back(*it);
    }
  }
  for (const auto& key : queued) {
    if (uploader->PendingStagingPath(key)) {
      extra.push_back(ListedEntry{.name = key.substr(dir_key.size())});
    } else {
      base::MutexLock lock(&mu);
      queued_keys.erase(key);
    }
  }
  if (extra.empty()) return cached;
  Listing merged = *cached;
  for (auto& e : extra) {
    if (DirCache::Find(merged, e.name) != nullptr) continue;
    auto pos =
        std::lower_bound(merged.begin(), merged.end(), e.name,
                         [](const ListedEntry& a, const std::string& n) { return a.name < n; });
    merged.insert(pos, std::move(e));
  }
  return std::make_shared<const Listing>(std::move(merged));
}

bool FileSystem::Impl::HasLocalChildren(InodeId dir, const std::string& dir_key) {
  std::vector<std::string> queued;
  {
    base::MutexLock lock(&mu);
    for (const Inode* c : inodes.Children(dir)) {
      if (c->local_only) return true;
    }
    for (auto it = queued_keys.lower_bound(dir_key);
         it != queued_keys.end() && it->compare(0, dir_key.size(), dir_key) == 0; ++it) {
      queued.push_back(*it);
    }
  }
  for (const auto& key : queued) {
    if (uploader->PendingStagingPath(key)) return true;
  }
  return false;
}

}  // namespace shadowfs::fs
