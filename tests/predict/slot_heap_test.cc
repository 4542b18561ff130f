#include "predict/slot_heap.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace shadowfs::predict {
namespace {

// Random pushes, pops, removals and key changes against a sorted set of (value, slot), with ties in
// the values broken by the slot, as the label queue breaks them by order.
TEST(SlotHeapTest, PopsInOrderAndRemovesAnySlotAgainstASortedSet) {
  std::mt19937 rng(7);
  std::vector<int> value(4096);
  auto less = [&](uint32_t a, uint32_t b) {
    return std::pair(value[a], a) < std::pair(value[b], b);
  };
  SlotHeap heap;
  std::set<std::pair<int, uint32_t>> model;
  for (int step = 0; step < 200'000; ++step) {
    const uint32_t slot = rng() % value.size();
    switch (rng() % 4) {
      case 0:  // push (a slot already in the heap stays where it is)
        if (!heap.contains(slot)) {
          value[slot] = static_cast<int>(rng() % 100);
          heap.Push(slot, less);
          model.insert({value[slot], slot});
        }
        break;
      case 1:  // remove, in the heap or not
        if (heap.contains(slot)) model.erase({value[slot], slot});
        heap.Remove(slot, less);
        break;
      case 2:  // a key changes, up or down
        if (heap.contains(slot)) {
          model.erase({value[slot], slot});
          value[slot] = static_cast<int>(rng() % 100);
          heap.Update(slot, less);
          model.insert({value[slot], slot});
        }
        break;
      default:  // pop
        if (!heap.empty()) {
          ASSERT_EQ(heap.top(), model.begin()->second) << step;
          heap.Remove(heap.top(), less);
          model.erase(model.begin());
        }
    }
    ASSERT_EQ(heap.size(), model.size()) << step;
  }
  std::vector<uint32_t> slots = heap.slots();
  std::sort(slots.begin(), slots.end());
  std::vector<uint32_t> expected;
  expected.reserve(model.size());
  for (const auto& [v, slot] : model) expected.push_back(slot);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(slots, expected);
  while (!heap.empty()) {
    ASSERT_EQ(heap.top(), model.begin()->second);
    heap.Remove(heap.top(), less);
    model.erase(model.begin());
  }
}

TEST(SlotHeapTest, CostsFourBytesPerEntryAndPerSlot) {
  std::vector<int> value(10'000);
  auto less = [&](uint32_t a, uint32_t b) { return value[a] < value[b]; };
  SlotHeap heap;
  for (uint32_t s = 0; s < value.size(); ++s) {
    value[s] = static_cast<int>(value.size() - s);
    heap.Push(s, less);
  }
  EXPECT_EQ(heap.top(), value.size() - 1);
  EXPECT_LE(heap.MemoryBytes(), value.size() * 8 * 5 / 4 + 1024) << "grows by a quarter";
}

}  // namespace
}  // namespace shadowfs::predict
