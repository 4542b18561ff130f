#include "predict/keyed_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace shadowfs::predict {
namespace {

struct Item {
  int value = 0;
  uint32_t next = 0;
};

std::vector<int> Values(const KeyedPool<Item>& pool, KeyId key) {
  std::vector<int> out;
  pool.Visit(key, [&](uint32_t, const Item& i) { out.push_back(i.value); });
  return out;
}

TEST(KeyedPoolTest, KeepsEachKeysRecordsNewestFirst) {
  KeyedPool<Item> pool;
  pool.Add(3, {1});
  pool.Add(7, {2});
  pool.Add(3, {3});
  EXPECT_EQ(Values(pool, 3), (std::vector<int>{3, 1}));
  EXPECT_EQ(Values(pool, 7), (std::vector<int>{2}));
  EXPECT_TRUE(Values(pool, 5).empty());
  EXPECT_TRUE(Values(pool, 1000).empty()) << "a key past every head";
  EXPECT_EQ(pool.size(), 3u);
}

TEST(KeyedPoolTest, RemovesByVisitOrSlotAndReusesTheSlots) {
  KeyedPool<Item> pool;
  uint32_t a = pool.Add(1, {10});
  pool.Add(1, {11});
  uint32_t c = pool.Add(1, {12});
  pool.Visit(1, [](uint32_t, Item& i) { return i.value == 11; });
  EXPECT_EQ(Values(pool, 1), (std::vector<int>{12, 10}));
  pool.Remove(1, c);
  EXPECT_EQ(Values(pool, 1), (std::vector<int>{10}));
  pool.Remove(2, a);  // not its key: nothing happens
  EXPECT_EQ(pool.size(), 1u);
  const size_t bytes = pool.MemoryBytes();
  pool.Add(2, {20});
  pool.Add(2, {21});
  EXPECT_EQ(pool.MemoryBytes(), bytes) << "the two freed slots were reused";
  EXPECT_EQ(Values(pool, 2), (std::vector<int>{21, 20}));
  pool.Visit(2, [](uint32_t, Item&) { return true; });
  pool.Visit(1, [](uint32_t, Item&) { return true; });
  EXPECT_EQ(pool.size(), 0u);
  EXPECT_FALSE(pool.has(1));
}

}  // namespace
}  // namespace shadowfs::predict
