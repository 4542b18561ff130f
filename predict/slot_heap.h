// SlotHeap: a binary min-heap of a KeyedPool's slots (predict/keyed_pool.h) that knows where each
// slot sits, so that a record leaving early (a prediction labelled at once, or replaced) leaves
// the heap too, in O(log n). A heap that leaves such entries behind until they surface holds
// about twice as many entries as records, at 16 bytes each (the time and a check against reuse);
// this one holds 4 bytes per record and 4 per slot.
//
// The order is the caller's: every call that moves entries takes `less(a, b)`, true when slot a
// comes before slot b (a strict weak order that must not change while both are in the heap, except
// for a slot passed to Update right after its key changed).
// Not thread-safe: owned by its user, under the engine's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace shadowfs::predict {

class SlotHeap {
 public:
  static constexpr uint32_t kAbsent = 0xffffffffu;

  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  uint32_t top() const { return heap_.front(); }
  bool contains(uint32_t slot) const { return slot < pos_.size() && pos_[slot] != kAbsent; }
  // The slots in heap order (not sorted).
  const std::vector<uint32_t>& slots() const { return heap_; }

  template <typename Less>
  void Push(uint32_t slot, const Less& less) {
    if (slot >= pos_.size()) {
      if (slot >= pos_.capacity()) pos_.reserve(static_cast<size_t>(slot) + slot / 4 + 64);
      pos_.resize(static_cast<size_t>(slot) + 1, kAbsent);
    }
    if (contains(slot)) return;
    if (heap_.size() == heap_.capacity()) heap_.reserve(heap_.size() + heap_.size() / 4 + 64);
    heap_.push_back(slot);
    pos_[slot] = static_cast<uint32_t>(heap_.size() - 1);
    Up(heap_.size() - 1, less);
  }

  // Takes `slot` out of the heap (nothing if it is not in it).
  template <typename Less>
  void Remove(uint32_t slot, const Less& less) {
    if (!contains(slot)) return;
    const size_t i = pos_[slot];
    pos_[slot] = kAbsent;
    const uint32_t last = heap_.back();
    heap_.pop_back();
    if (i == heap_.size()) return;  // it was the last
    Place(i, last);
    Up(i, less);
    Down(pos_[last], less);
  }

  // Moves `slot` to its place after its key changed (nothing if it is not in the heap).
  template <typename Less>
  void Update(uint32_t slot, const Less& less) {
    if (!contains(slot)) return;
    const size_t i = pos_[slot];
    Up(i, less);
    Down(pos_[slot], less);
  }

  size_t MemoryBytes() const { return (heap_.capacity() + pos_.capacity()) * sizeof(uint32_t); }

 private:
  void Place(size_t i, uint32_t slot) {
    heap_[i] = slot;
    pos_[slot] = static_cast<uint32_t>(i);
  }
  template <typename Less>
  void Up(size_t i, const Less& less) {
    const uint32_t slot = heap_[i];
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!less(slot, heap_[parent])) break;
      Place(i, heap_[parent]);
      i = parent;
    }
    Place(i, slot);
  }
  template <typename Less>
  void Down(size_t i, const Less& less) {
    const uint32_t slot = heap_[i];
    const size_t n = heap_.size();
    for (;;) {
      size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
      if (!less(heap_[child], slot)) break;
      Place(i, heap_[child]);
      i = child;
    }
    Place(i, slot);
  }

  std::vector<uint32_t> heap_;
  std::vector<uint32_t> pos_;  // by slot: its index in heap_, or kAbsent
};

}  // namespace shadowfs::predict
