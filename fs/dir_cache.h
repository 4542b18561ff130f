// DirCache: recent directory listings from the primary, reused for dir_cache_ttl so that a
// lookup storm after a readdir (ls -l, a build scanning a tree) costs no request per name. Every
// local change in a directory invalidates its listing; a directory rename clears everything.
//
// Thread-compatible: the FileSystem guards it with its namespace mutex.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/blob_store.h"
#include "fs/types.h"

namespace shadowfs::fs {

// One name in a listing: a directory (a common prefix, or only its marker) or a file object.
struct ListedEntry {
  std::string name;
  FileKind kind = FileKind::kRegular;  // kRegular or kDirectory: a listing cannot tell symlinks
  blobstore::ObjectInfo object;        // a file's object (no metadata); empty for a directory
};

// A directory's entries in name order.
using Listing = std::vector<ListedEntry>;

class DirCache {
 public:
  explicit DirCache(std::chrono::milliseconds ttl) : ttl_(ttl) {}

  // The listing of `dir_key` ("" or "a/b/") if fetched less than ttl ago.
  std::shared_ptr<const Listing> Get(const std::string& dir_key, base::MonoTime now) const;
  void Put(const std::string& dir_key, std::shared_ptr<const Listing> listing,
           base::MonoTime fetched);
  void Invalidate(const std::string& dir_key);
  void Clear();

  // The entry `name` of a listing, or null.
  static const ListedEntry* Find(const Listing& listing, std::string_view name);

 private:
  struct Cached {
    std::shared_ptr<const Listing> listing;
    base::MonoTime fetched;
  };
  const std::chrono::milliseconds ttl_;
  std::map<std::string, Cached, std::less<>> entries_;
};

}  // namespace shadowfs::fs
