// KeyedPool: records grouped by key, for the engine's bookkeeping of open predictions and
// requested ranges (predict/labels.h, predict/planner.h). A busy engine keeps tens of thousands
// of them, most keys with one or two; a hash map of vectors costs a node and a heap block per key
// (about 100 bytes before the first record). Here the records live in one vector of slots,
// chained per key through a 32-bit link, and a key's chain starts in a vector indexed by KeyId
// (ids are dense: predict/key_table.h), so a key costs 4 bytes and a record its own size. The link
// is the record's own `uint32_t next` member (so that it fills the record's padding), owned by
// the pool. Freed slots are reused (a free list threaded through the same links).
//
// Not thread-safe: owned by its user, under the engine's mutex.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "predict/types.h"

namespace shadowfs::predict {

template <typename T>
class KeyedPool {
 public:
  static constexpr uint32_t kNone = 0xffffffffu;

  // Adds a record to the front of `key`'s chain; returns its slot.
  uint32_t Add(KeyId key, T value) {
    if (key >= heads_.size()) {
      if (key >= heads_.capacity()) heads_.reserve(static_cast<size_t>(key) + key / 4 + 64);
      heads_.resize(static_cast<size_t>(key) + 1, kNone);
    }
    uint32_t slot;
    if (free_ != kNone) {
      slot = free_;
      free_ = slots_[slot].next;
      slots_[slot] = std::move(value);
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      // Grow by a quarter, not double: the slots are most of the memory.
      if (slots_.size() == slots_.capacity())
        slots_.reserve(slots_.size() + slots_.size() / 4 + 64);
      slots_.push_back(std::move(value));
    }
    slots_[slot].next = heads_[key];
    heads_[key] = slot;
    ++size_;
    return slot;
  }

  // Unlinks `slot` from `key`'s chain and frees it (a walk along the chain).
  void Remove(KeyId key, uint32_t slot) {
    if (key >= heads_.size()) return;
    uint32_t* link = &heads_[key];
    while (*link != kNone && *link != slot) link = &slots_[*link].next;
    if (*link == kNone) return;
    *link = slots_[slot].next;
    slots_[slot].next = free_;
    free_ = slot;
    --size_;
  }

  // Calls fn(slot, value) for each record of `key`, newest first; fn returns true to remove the
  // record (it is freed after fn returns).
  template <typename Fn>
  void Visit(KeyId key, Fn&& fn) {
    if (key >= heads_.size()) return;
    uint32_t* link = &heads_[key];
    while (*link != kNone) {
      const uint32_t slot = *link;
      if (fn(slot, slots_[slot])) {
        *link = slots_[slot].next;
        slots_[slot].next = free_;
        free_ = slot;
        --size_;
      } else {
        link = &slots_[slot].next;
      }
    }
  }
  template <typename Fn>
  void Visit(KeyId key, Fn&& fn) const {
    if (key >= heads_.size()) return;
    for (uint32_t s = heads_[key]; s != kNone; s = slots_[s].next) fn(s, slots_[s]);
  }

  T& operator[](uint32_t slot) { return slots_[slot]; }
  const T& operator[](uint32_t slot) const { return slots_[slot]; }
  bool has(KeyId key) const { return key < heads_.size() && heads_[key] != kNone; }
  // Every key with records is below this bound.
  size_t key_bound() const { return heads_.size(); }
  size_t size() const { return size_; }
  size_t MemoryBytes() const {
    return slots_.capacity() * sizeof(T) + heads_.capacity() * sizeof(uint32_t);
  }

 private:
  std::vector<T> slots_;         // T::next: the key's next record, or the next free slot
  std::vector<uint32_t> heads_;  // by KeyId
  uint32_t free_ = kNone;
  size_t size_ = 0;
};

}  // namespace shadowfs::predict
