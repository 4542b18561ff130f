#include "blobstore/local_dir_lister.h"

#include <dirent.h>
#include <fcntl.h>

#include <algorithm>
#include <cerrno>

#include "blobstore/local_dir_paths.h"

namespace shadowfs::blobstore::localdir {

namespace {

constexpr size_t kMaxKeyBytes = 1024;
// Keys are at most 1024 bytes, so no tree of keys can be deeper than this.
constexpr int kMaxDepth = 512;

bool StartsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Lister::Lister(int root_fd, EntryDescriber* describer, const ListOptions& options)
    : root_fd_(root_fd),
      describer_(describer),
      options_(options),
      builder_(options),
      after_(builder_.resume_after()) {}

Result<ListPage> Lister::Run() {
  // Start in the deepest directory the prefix names completely: "a/b/c" starts in "a/b/".
  const std::string& prefix = options_.prefix;
  const std::string start_key = prefix.substr(0, prefix.rfind('/') + 1);
  UniqueFd start;
  if (start_key.empty()) {
    SHADOWFS_ASSIGN_OR_RETURN(start, OpenDirs(root_fd_, {}, 0));
  } else {
    auto parsed = ParseLocalKey(start_key);
    if (!parsed.ok()) return builder_.Finish();  // no key the store can hold has this prefix
    std::vector<std::string> dirs = parsed->dirs;
    dirs.push_back(parsed->name);
    auto opened = OpenDirs(root_fd_, dirs, dirs.size());
    if (!opened.ok()) {
      if (opened.status().IsNotFound()) return builder_.Finish();
      return opened.status();
    }
    start = std::move(*opened);
    if (start_key == prefix && (after_.empty() || start_key > after_)) {
      SHADOWFS_ASSIGN_OR_RETURN(auto marker, describer_->DescribeDirEntry(start.get(), start_key));
      if (marker && !builder_.Offer(*marker)) return builder_.Finish();
    }
  }
  SHADOWFS_ASSIGN_OR_RETURN(Flow flow, Walk(start.get(), start_key, false));
  (void)flow;
  return builder_.Finish();
}

Result<std::vector<Lister::Entry>> Lister::ReadEntries(int dir_fd, const std::string& dir_key) {
  // fdopendir takes ownership of its descriptor, so give it a fresh one (not a dup, which would
  // share the read position with `dir_fd`).
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return base::ErrnoStatus(errno, "open directory '" + dir_key + "' to list it");
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    ::close(fd);
    return base::ErrnoStatus(err, "list directory '" + dir_key + "'");
  }
  std::vector<Entry> entries;
  Status status;
  while (true) {
    errno = 0;
    struct dirent* de = ::readdir(dir);
    if (de == nullptr) {
      if (errno != 0) status = base::ErrnoStatus(errno, "list directory '" + dir_key + "'");
      break;
    }
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    if (dir_key.empty() && name == kReservedName) continue;
    // Names that cannot be keys (not UTF-8, too deep) are invisible rather than unreadable.
    if (dir_key.size() + name.size() > kMaxKeyBytes || !ValidateKey(name).ok()) continue;
    bool is_dir;
    if (de->d_type == DT_REG) {
      is_dir = false;
    } else if (de->d_type == DT_DIR) {
      is_dir = true;
    } else if (de->d_type == DT_UNKNOWN) {
      auto node = StatAt(::dirfd(dir), name);
      if (!node.ok()) {
        status = node.status();
        break;
      }
      if (node->kind != NodeKind::kFile && node->kind != NodeKind::kDir) continue;
      is_dir = node->kind == NodeKind::kDir;
    } else {
      continue;  // symlinks, devices, FIFOs and sockets are not objects
    }
    if (is_dir && dir_key.size() + name.size() + 1 > kMaxKeyBytes) continue;
    std::string sort_key = is_dir ? name + "/" : name;
    entries.push_back(Entry{std::move(sort_key), std::move(name), is_dir});
  }
  ::closedir(dir);
  if (!status.ok()) return status;
  return entries;
}

Result<Lister::Flow> Lister::Walk(int dir_fd, const std::string& dir_key, bool first_only) {
  if (std::count(dir_key.begin(), dir_key.end(), '/') > kMaxDepth) return Flow::kMore;
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<Entry> entries, ReadEntries(dir_fd, dir_key));
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.sort_key < b.sort_key; });
  const std::string& prefix = options_.prefix;
  for (const Entry& e : entries) {
    const std::string key = dir_key + e.sort_key;
    if (!StartsWith(key, prefix)) continue;
    if (!e.is_dir) {
      if (!after_.empty() && key <= after_) continue;
      SHADOWFS_ASSIGN_OR_RETURN(auto info, describer_->DescribeFileEntry(dir_fd, e.name, key));
      if (!info) continue;
      if (!builder_.Offer(*info)) return Flow::kPageFull;
      if (first_only) return Flow::kFoundOne;
      continue;
    }
    // Every key under the directory starts with `key`: if the resume point is past all of them,
    // there is nothing to do here.
    if (!after_.empty() && key < after_ && !StartsWith(after_, key)) continue;
    const bool rolls_up =
        options_.delimiter == "/" && key.find('/', prefix.size()) == key.size() - 1;
    // Its common prefix was the last thing returned.
    if (rolls_up && key == after_) continue;
    auto sub = OpenDirAt(dir_fd, e.name);
    if (!sub.ok()) {
      if (sub.status().IsNotFound()) continue;  // removed or replaced by a symlink meanwhile
      return sub.status();
    }
    if (rolls_up && (after_.empty() || key > after_)) {
      SHADOWFS_ASSIGN_OR_RETURN(auto marker, describer_->DescribeDirEntry(sub->get(), key));
      bool any = marker.has_value();
      if (!any) {
        SHADOWFS_ASSIGN_OR_RETURN(any, HasAnyKey(sub->get(), key, 0));
      }
      if (!any) continue;
      ObjectInfo common;
      common.key = key;
      if (!builder_.Offer(common)) return Flow::kPageFull;
      if (first_only) return Flow::kFoundOne;
      continue;
    }
    if (rolls_up) {
      // The resume point is inside this directory: its common prefix is due again only if a key
      // after the resume point remains in it, so look for the first such key and stop there.
      SHADOWFS_ASSIGN_OR_RETURN(Flow flow, Walk(sub->get(), key, true));
      if (flow == Flow::kPageFull) return flow;
      if (flow == Flow::kFoundOne && first_only) return flow;
      continue;
    }
    if (after_.empty() || key > after_) {
      SHADOWFS_ASSIGN_OR_RETURN(auto marker, describer_->DescribeDirEntry(sub->get(), key));
      if (marker) {
        if (!builder_.Offer(*marker)) return Flow::kPageFull;
        if (first_only) return Flow::kFoundOne;
      }
    }
    SHADOWFS_ASSIGN_OR_RETURN(Flow flow, Walk(sub->get(), key, first_only));
    if (flow != Flow::kMore) return flow;
  }
  return Flow::kMore;
}

Result<bool> Lister::HasAnyKey(int dir_fd, const std::string& dir_key, int depth) {
  if (depth > kMaxDepth) return false;
  SHADOWFS_ASSIGN_OR_RETURN(std::vector<Entry> entries, ReadEntries(dir_fd, dir_key));
  for (const Entry& e : entries) {
    if (!e.is_dir) return true;
  }
  for (const Entry& e : entries) {
    const std::string key = dir_key + e.sort_key;
    auto sub = OpenDirAt(dir_fd, e.name);
    if (!sub.ok()) {
      if (sub.status().IsNotFound()) continue;
      return sub.status();
    }
    SHADOWFS_ASSIGN_OR_RETURN(auto marker, describer_->DescribeDirEntry(sub->get(), key));
    if (marker) return true;
    SHADOWFS_ASSIGN_OR_RETURN(bool any, HasAnyKey(sub->get(), key, depth + 1));
    if (any) return true;
  }
  return false;
}

}  // namespace shadowfs::blobstore::localdir
