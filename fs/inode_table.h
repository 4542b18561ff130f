// InodeTable: the inodes the kernel knows, as table ids with generation counters (never cast
// pointers). Each inode records its parent id and name, not its key, so renaming a directory
// re-parents one inode and every descendant's key follows. It also caches each inode's
// attributes (with an expiry) and the object version they came from.
//
// Lifetime: an inode lives while the kernel holds lookups on it (Forget), a handle has it open,
// or a child inode still names it as parent; then its slot is freed, and a reused slot gets a
// new generation.
//
// Thread-compatible: the FileSystem guards the table with its namespace mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/blob_store.h"
#include "fs/types.h"

namespace shadowfs::fs {

// The object behind an inode: a file's object, or a directory's `dir/` marker.
struct ObjectVersion {
  bool exists = false;  // false: a directory without a marker, or a file never committed
  std::string etag;
  std::string version_id;
  uint64_t size = 0;
  base::WallTime last_modified{};
  std::string content_type;
  blobstore::UserMetadata metadata;  // as stored: POSIX entries, xattrs, foreign entries
};

struct Inode {
  InodeId id = 0;
  uint64_t generation = 0;
  InodeId parent = 0;  // 0 once unlinked or replaced (detached from the namespace)
  std::string name;
  FileKind kind = FileKind::kRegular;

  uint64_t lookups = 0;   // references the kernel holds (Forget drops them)
  uint32_t opens = 0;     // open file and directory handles
  uint32_t children = 0;  // attached child inodes in the table

  Attributes attr;               // cached; attr.ino == id
  base::MonoTime attr_expiry{};  // fresh while now < attr_expiry
  ObjectVersion version;
  std::optional<std::string> link_target;  // a symlink's body, once read

  bool unlinked = false;    // removed while open: never recreate the object
  bool local_only = false;  // created here, not committed yet
  // Open-to-open cache validity (OpenResult::keep_cache).
  std::optional<std::string> etag_at_last_open;
  bool changed_since_open = false;
};

class InodeTable {
 public:
  // Creates the root (kRootInode, a directory, parent 0, name "").
  InodeTable();

  Inode* Get(InodeId id);
  const Inode* Get(InodeId id) const;
  // The generation of a live id, for the kernel.
  Inode* Child(InodeId parent, std::string_view name);

  // The child `name` of `parent` with `kind`: the existing inode if it has that kind, otherwise a
  // new one (an inode of another kind under that name is detached first). Does not count a
  // lookup: callers add to `lookups` when they hand the inode to the kernel.
  Inode& Attach(InodeId parent, std::string_view name, FileKind kind);

  // Removes the inode from its parent's names (it stays alive until forgotten and closed).
  void Detach(InodeId id);
  // Moves `id` to (new_parent, new_name), detaching whatever was there.
  void Move(InodeId id, InodeId new_parent, std::string_view new_name);

  // Drops `n` lookups; frees the inode if nothing else holds it.
  void Forget(InodeId id, uint64_t n);
  // Frees the inode if no lookup, handle or child holds it (after a close, for example).
  void MaybeFree(InodeId id);

  // The path of an attached inode relative to the filesystem root ("" for the root, "a/b"
  // otherwise); nullopt if it or an ancestor is detached.
  std::optional<std::string> Path(InodeId id) const;
  // Whether `ancestor` is `id` or one of its ancestors.
  bool IsAncestor(InodeId ancestor, InodeId id) const;

  // Attached children of a directory, by name.
  std::vector<const Inode*> Children(InodeId parent) const;

  size_t size() const { return live_; }

 private:
  struct Slot {
    uint64_t generation = 0;
    std::optional<Inode> inode;
  };
  void Free(InodeId id);
  void EraseName(InodeId parent, std::string_view name);

  // id = index + 1. A deque, so that adding an inode never moves the others: an Inode& stays
  // valid until that inode is removed.
  std::deque<Slot> slots_;
  std::vector<InodeId> free_;
  size_t live_ = 0;
  using NameView = std::pair<InodeId, std::string_view>;
  struct NameLess {
    using is_transparent = void;
    static NameView View(const std::pair<InodeId, std::string>& k) { return {k.first, k.second}; }
    static NameView View(const NameView& k) { return k; }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return View(a) < View(b);
    }
  };
  std::map<std::pair<InodeId, std::string>, InodeId, NameLess> names_;
};

}  // namespace shadowfs::fs
