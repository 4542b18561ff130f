#include "fs/dir_cache.h"

#include <algorithm>

namespace shadowfs::fs {

std::shared_ptr<const Listing> DirCache::Get(const std::string& dir_key, base::MonoTime now) const {
  auto it = entries_.find(dir_key);
  if (it == entries_.end() || now - it->second.fetched >= ttl_) return nullptr;
  return it->second.listing;
}

void DirCache::Put(const std::string& dir_key, std::shared_ptr<const Listing> listing,
                   base::MonoTime fetched) {
  if (ttl_.count() <= 0) return;
  // Bounded: a mount that walks a huge tree keeps only recent listings worth reusing.
  if (entries_.size() >= 4096) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = fetched - it->second.fetched >= ttl_ ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= 4096) entries_.clear();
  }
  entries_[dir_key] = Cached{std::move(listing), fetched};
}

void DirCache::Invalidate(const std::string& dir_key) { entries_.erase(dir_key); }

void DirCache::Clear() { entries_.clear(); }

const ListedEntry* DirCache::Find(const Listing& listing, std::string_view name) {
  auto it = std::lower_bound(listing.begin(), listing.end(), name,
                             [](const ListedEntry& e, std::string_view n) { return e.name < n; });
  if (it == listing.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace shadowfs::fs
