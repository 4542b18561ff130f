// Lister: one ListObjectsV2 page over a directory tree, for LocalDirBlobStore. Keys come out in
// byte order although a directory walk does not give that order by itself: "a-c" < "a/b" because
// '-' < '/', so each directory's entries are sorted by name, with "/" appended to directories, and
// a directory's subtree is visited at its sorted place. With delimiter "/" a directory that rolls
// up into a common prefix is not descended into (only checked for holding any key at all).
// Each page reads and sorts every directory on its way and describes (stats) only the entries it
// offers to the page. Single use; not thread-safe (the store makes one per List call).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "blobstore/blob_store.h"

namespace shadowfs::blobstore::localdir {

// How the store turns directory entries into objects.
class EntryDescriber {
 public:
  virtual ~EntryDescriber() = default;
  // The object `key`, the entry `name` of `dir_fd`; nullopt if it vanished or is no object.
  virtual Result<std::optional<ObjectInfo>> DescribeFileEntry(int dir_fd, const std::string& name,
                                                              const std::string& key) = 0;
  // The marker `key` ("a/b/") of the directory open as `dir_fd`; nullopt if it is implicit.
  virtual Result<std::optional<ObjectInfo>> DescribeDirEntry(int dir_fd,
                                                             const std::string& key) = 0;
};

class Lister {
 public:
  Lister(int root_fd, EntryDescriber* describer, const ListOptions& options);
  Lister(const Lister&) = delete;
  Lister& operator=(const Lister&) = delete;

  Result<ListPage> Run();

 private:
  enum class Flow { kMore, kPageFull, kFoundOne };
  struct Entry {
    std::string sort_key;  // the name, plus "/" for a directory
    std::string name;
    bool is_dir = false;
  };

  // The entries of a directory that can be keys under `dir_key`, unsorted.
  Result<std::vector<Entry>> ReadEntries(int dir_fd, const std::string& dir_key);
  // Offers every key under `dir_key`; with first_only, stops after the first one offered.
  Result<Flow> Walk(int dir_fd, const std::string& dir_key, bool first_only);
  // Whether any key lies under the directory (for a common prefix, which S3 shows only then).
  Result<bool> HasAnyKey(int dir_fd, const std::string& dir_key, int depth);

  const int root_fd_;
  EntryDescriber* const describer_;
  const ListOptions& options_;
  ListPageBuilder builder_;
  const std::string after_;
};

}  // namespace shadowfs::blobstore::localdir
