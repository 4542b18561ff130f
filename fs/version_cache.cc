#include "fs/version_cache.h"

namespace shadowfs::fs {

void VersionCache::Put(const std::string& key, const ObjectVersion& version, base::MonoTime now) {
  if (!version.exists) return;
  Store(key, version, now);
}

void VersionCache::PutAbsentMarker(const std::string& key, base::MonoTime now) {
  if (!key.ends_with('/')) return;
  if (auto it = entries_.find(key); it != entries_.end() && it->second.learned >= now) return;
  Store(key, ObjectVersion{}, now);
}

void VersionCache::Store(const std::string& key, const ObjectVersion& version, base::MonoTime now) {
  if (capacity_ == 0) return;
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted) {
    lru_.push_front(&it->first);
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  it->second.version = version;
  it->second.learned = now;
  it->second.lru = lru_.begin();
  while (entries_.size() > capacity_) {
    Erase(entries_.find(*lru_.back()));
    ++counters_.evictions;
  }
}

std::optional<VersionCache::Known> VersionCache::Get(std::string_view key, base::MonoTime now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++counters_.misses;
    return std::nullopt;
  }
  ++counters_.hits;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  const Entry& e = it->second;
  return Known{.version = e.version, .learned = e.learned, .fresh = now - e.learned < max_age_};
}

void VersionCache::ObserveEtag(std::string_view key, std::string_view etag) {
  if (etag.empty()) return;  // a store that lists no ETags says nothing
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.version.etag == etag) return;
  Erase(it);
  ++counters_.invalidations;
}

void VersionCache::Invalidate(std::string_view key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  Erase(it);
  ++counters_.invalidations;
}

void VersionCache::InvalidatePrefix(std::string_view prefix) {
  auto it = entries_.lower_bound(prefix);
  while (it != entries_.end() && std::string_view(it->first).starts_with(prefix)) {
    auto next = std::next(it);
    Erase(it);
    ++counters_.invalidations;
    it = next;
  }
}

VersionCache::Counters VersionCache::counters() const {
  Counters c = counters_;
  c.entries = entries_.size();
  return c;
}

void VersionCache::Erase(Map::iterator it) {
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace shadowfs::fs
