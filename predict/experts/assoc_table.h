// AssocTable: a bounded, set-associative hash table of small fixed-size entries, used by the
// experts for per-context and per-directory state. A tag (a 64-bit hash, never 0) picks a bucket
// of kWays entries; when the bucket is full, the least recently used entry in it is replaced.
// It starts small and doubles up to `max_entries`, so memory follows use but is never unbounded,
// and every operation is O(kWays) with no allocation once grown.
//
// Entry must have `uint64_t tag` (0: empty) and `uint32_t stamp` (last use, maintained here),
// and be default-constructible. Not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace shadowfs::predict::experts {

template <typename Entry>
class AssocTable {
 public:
  static constexpr size_t kWays = 8;

  explicit AssocTable(size_t max_entries)
      : max_buckets_(RoundUp((max_entries + kWays - 1) / kWays)),
        entries_(std::min<size_t>(max_buckets_, 8) * kWays) {}

  static uint64_t NonZero(uint64_t tag) { return tag == 0 ? 1 : tag; }

  Entry* Find(uint64_t tag) {
    tag = NonZero(tag);
    Entry* bucket = Bucket(tag);
    for (size_t i = 0; i < kWays; ++i) {
      if (bucket[i].tag == tag) {
        bucket[i].stamp = ++clock_;
        return &bucket[i];
      }
    }
    return nullptr;
  }
  const Entry* Peek(uint64_t tag) const {
    tag = NonZero(tag);
    const Entry* bucket = &entries_[(tag % (entries_.size() / kWays)) * kWays];
    for (size_t i = 0; i < kWays; ++i) {
      if (bucket[i].tag == tag) return &bucket[i];
    }
    return nullptr;
  }

  // The entry for `tag`, created empty (default values) if missing, possibly replacing the least
  // recently used entry of its bucket.
  Entry* FindOrInsert(uint64_t tag, bool* inserted = nullptr) {
    if (Entry* e = Find(tag)) {
      if (inserted != nullptr) *inserted = false;
      return e;
    }
    if (inserted != nullptr) *inserted = true;
    if (used_ * 4 > entries_.size() * 3 && entries_.size() / kWays < max_buckets_) Grow();
    return Place(NonZero(tag), Entry{});
  }

  void Erase(Entry* e) {
    if (e->tag != 0) --used_;
    *e = Entry{};
  }
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (Entry& e : entries_) {
      if (e.tag != 0) fn(e);
    }
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Entry& e : entries_) {
      if (e.tag != 0) fn(e);
    }
  }
  void Clear() {
    entries_.assign(std::min<size_t>(max_buckets_, 8) * kWays, Entry{});
    used_ = 0;
  }
  size_t size() const { return used_; }
  size_t MemoryBytes() const { return entries_.capacity() * sizeof(Entry); }

 private:
  static size_t RoundUp(size_t n) {
    size_t p = 1;
    while (p < n) p <<= 1;
    return p;
  }
  Entry* Bucket(uint64_t tag) { return &entries_[(tag % (entries_.size() / kWays)) * kWays]; }

  Entry* Place(uint64_t tag, Entry value) {
    Entry* bucket = Bucket(tag);
    Entry* victim = &bucket[0];
    for (size_t i = 0; i < kWays; ++i) {
      if (bucket[i].tag == 0) {
        victim = &bucket[i];
        break;
      }
      if (bucket[i].stamp < victim->stamp) victim = &bucket[i];
    }
    if (victim->tag == 0) ++used_;
    *victim = std::move(value);
    victim->tag = tag;
    victim->stamp = ++clock_;
    return victim;
  }

  void Grow() {
    std::vector<Entry> old = std::move(entries_);
    entries_ = std::vector<Entry>(old.size() * 2);
    used_ = 0;
    const uint32_t saved_clock = clock_;
    for (Entry& e : old) {
      if (e.tag == 0) continue;
      const uint32_t stamp = e.stamp;
      Entry* placed = Place(e.tag, std::move(e));
      placed->stamp = stamp;
    }
    clock_ = saved_clock;
  }

  size_t max_buckets_;
  std::vector<Entry> entries_;
  size_t used_ = 0;
  uint32_t clock_ = 0;
};

}  // namespace shadowfs::predict::experts
