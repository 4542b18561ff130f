// VersionCache: the object versions (ETag, size, metadata) this mount last learned from the
// primary, by key, with when it learned them. Unlike an inode's cached state it survives the
// kernel's Forget (drop_caches, memory pressure), so that a file looked up again can be answered
// without a request when a confident shadow vouches that the version is still current
// (FileSystem::Impl::ShadowVouches). A directory's marker is cached under its "dir/" key; for an
// implicit directory (one without a marker) that entry says the marker does not exist
// (`version.exists` false), so that a confident shadow beneath the directory can answer its
// lookup (FileSystem::Impl::DirectoryVouched).
//
// Bounded: least recently used entries go beyond `capacity`. Every HEAD, commit and metadata
// copy records a version; a listing that shows another ETag, a NotFound, and the local unlink,
// rename and rmdir drop entries. An entry older than `max_age` is still returned (its ETag is
// still knowledge), but fresh() says whether its metadata may stand in for a request: another
// client's metadata-only change (a copy onto itself keeps the ETag on S3 and RGW) is seen within
// max_age.
//
// Thread-compatible: the FileSystem guards it with its namespace mutex.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"
#include "fs/inode_table.h"

namespace shadowfs::fs {

class VersionCache {
 public:
  struct Known {
    ObjectVersion version;
    base::MonoTime learned{};  // when the primary last said so
    bool fresh = false;        // learned less than max_age ago
  };
  struct Counters {
    uint64_t entries = 0;
    uint64_t hits = 0;    // Get found the key
    uint64_t misses = 0;  // Get did not
    uint64_t evictions = 0;
    uint64_t invalidations = 0;
  };

  VersionCache(size_t capacity, std::chrono::nanoseconds max_age)
      : capacity_(capacity), max_age_(max_age) {}
  VersionCache(const VersionCache&) = delete;
  VersionCache& operator=(const VersionCache&) = delete;

  // The primary said at `now` that `key` is `version` (which must exist).
  void Put(const std::string& key, const ObjectVersion& version, base::MonoTime now);
  // The primary said at `now` that the directory marker `key` ("dir/") does not exist. An entry
  // learned at or after `now` stands: the answer may have been on its way while the directory
  // changed.
  void PutAbsentMarker(const std::string& key, base::MonoTime now);
  // The last version learned of `key`, and whether it is fresh at `now`.
  std::optional<Known> Get(std::string_view key, base::MonoTime now);
  // A listing shows `key` with `etag`: an entry of another ETag is dropped. A match changes
  // nothing: a listing carries no metadata, so it does not make an entry fresher.
  void ObserveEtag(std::string_view key, std::string_view etag);
  void Invalidate(std::string_view key);
  // Drops every key that starts with `prefix` (a renamed or removed directory's contents).
  void InvalidatePrefix(std::string_view prefix);

  Counters counters() const;

 private:
  using Lru = std::list<const std::string*>;  // most recent first; points at the map's keys
  struct Entry {
    ObjectVersion version;
    base::MonoTime learned{};
    Lru::iterator lru;
  };
  using Map = std::map<std::string, Entry, std::less<>>;
  void Store(const std::string& key, const ObjectVersion& version, base::MonoTime now);
  void Erase(Map::iterator it);

  const size_t capacity_;
  const std::chrono::nanoseconds max_age_;
  Map entries_;
  Lru lru_;
  Counters counters_;
};

}  // namespace shadowfs::fs
