#include "predict/key_table.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shadowfs::predict {
namespace {

base::WallTime At(int64_t s) { return base::FromUnixSeconds(s); }

TEST(KeyTableTest, InternsEachKeyOnce) {
  KeyTable keys(100);
  const KeyId a = keys.Intern("data/a.csv");
  const KeyId b = keys.Intern("data/b.csv");
  EXPECT_NE(a, b);
  EXPECT_EQ(keys.Intern("data/a.csv"), a);
  EXPECT_EQ(keys.Name(a), "data/a.csv");
  EXPECT_EQ(keys.Find("data/b.csv"), b);
  EXPECT_EQ(keys.Find("data/c.csv"), std::nullopt);
  EXPECT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys.Name(12345), "");
  EXPECT_EQ(keys.object(12345), nullptr);
}

TEST(KeyTableTest, NamesStayValidWhileTheTableGrows) {
  KeyTable keys(1'000'000);
  const std::string_view first = keys.Name(keys.Intern("first/key"));
  std::vector<KeyId> ids;
  for (int i = 0; i < 200'000; ++i) ids.push_back(keys.Intern("dir/" + std::to_string(i)));
  EXPECT_EQ(first, "first/key");
  for (int i = 0; i < 200'000; i += 997) {
    EXPECT_EQ(keys.Name(ids[i]), "dir/" + std::to_string(i));
    EXPECT_EQ(keys.Find("dir/" + std::to_string(i)), ids[i]);
  }
  // A name and ETag together longer than a page of the arena.
  const std::string long_key(KeyTable::kMaxName, 'k');
  const KeyId id = keys.Intern(long_key);
  keys.SetObject(id, 1, "\"0123456789\"");
  EXPECT_TRUE(keys.Name(id) == long_key);
  EXPECT_EQ(keys.etag(id), "\"0123456789\"");
}

TEST(KeyTableTest, RecordsSizeEtagAndTouch) {
  KeyTable keys(10);
  const KeyId a = keys.Intern("a");
  keys.SetObject(a, 123, "\"0123456789abcdef0123456789abcdef\"");
  keys.Touch(a, At(50));
  ASSERT_NE(keys.object(a), nullptr);
  EXPECT_EQ(keys.object(a)->size, 123u);
  EXPECT_EQ(keys.etag(a), "\"0123456789abcdef0123456789abcdef\"");
  EXPECT_EQ(keys.object(a)->last_touch, At(50));
  keys.SetObject(a, 124, "\"fedcba9876543210fedcba9876543210\"");
  EXPECT_EQ(keys.etag(a), "\"fedcba9876543210fedcba9876543210\"");
  keys.SetObject(a, 125, "a-much-longer-etag-than-the-one-before-it-was-0123456789");
  EXPECT_EQ(keys.etag(a), "a-much-longer-etag-than-the-one-before-it-was-0123456789");
  EXPECT_EQ(keys.object(a)->size, 125u);
  keys.SetObject(a, 125, "");
  EXPECT_EQ(keys.etag(a), "");
}

TEST(KeyTableTest, ReleasesLeastRecentAndReusesIds) {
  KeyTable keys(3);
  std::vector<KeyId> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(keys.Intern("k" + std::to_string(i)));
    keys.Touch(ids.back(), At(100 - i));  // later keys are older
  }
  EXPECT_TRUE(keys.over_capacity());
  const std::vector<KeyId> old = keys.LeastRecent(2);
  EXPECT_EQ(old, (std::vector<KeyId>{ids[4], ids[3]}));
  keys.Release(old);
  EXPECT_FALSE(keys.over_capacity());
  EXPECT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys.Find("k4"), std::nullopt);
  EXPECT_EQ(keys.Name(ids[4]), "");
  EXPECT_EQ(keys.object(ids[4]), nullptr);
  EXPECT_EQ(keys.Find("k1"), ids[1]);
  const KeyId reused = keys.Intern("new");
  EXPECT_TRUE(reused == ids[3] || reused == ids[4]);
  EXPECT_EQ(keys.Name(reused), "new");
  EXPECT_EQ(keys.object(reused)->size, 0u);
}

TEST(KeyTableTest, CompactionAfterReleasingMostKeysKeepsTheRest) {
  KeyTable keys(1'000'000);
  std::vector<KeyId> ids;
  for (int i = 0; i < 100'000; ++i) {
    ids.push_back(keys.Intern("bucket/some/longer/prefix/file-" + std::to_string(i)));
    keys.SetObject(ids.back(), i, "etag-" + std::to_string(i));
  }
  const size_t before = keys.MemoryBytes();
  std::vector<KeyId> drop;
  for (int i = 0; i < 100'000; ++i) {
    if (i % 10 != 0) drop.push_back(ids[i]);
  }
  keys.Release(drop);
  EXPECT_LT(keys.MemoryBytes(), before);
  for (int i = 0; i < 100'000; i += 10) {
    const std::string name = "bucket/some/longer/prefix/file-" + std::to_string(i);
    ASSERT_EQ(keys.Find(name), ids[i]);
    EXPECT_EQ(keys.Name(ids[i]), name);
    EXPECT_EQ(keys.etag(ids[i]), "etag-" + std::to_string(i));
  }
  EXPECT_EQ(keys.Find("bucket/some/longer/prefix/file-1"), std::nullopt);
}

TEST(KeyTableTest, FixedCostPerKeyIsSmall) {
  KeyTable keys(1'000'000);
  size_t string_bytes = 0;
  for (int i = 0; i < 100'000; ++i) {
    const std::string name = "d" + std::to_string(i % 100) + "/f" + std::to_string(i);
    keys.SetObject(keys.Intern(name), 1, "\"0123456789abcdef0123456789abcdef\"");
    string_bytes += name.size() + 34;
  }
  // Beyond the bytes of the names and ETags themselves: the index, the offsets and lengths, the
  // Object (16 + 8 bytes), the vectors' room to grow and the arena's last page.
  const double overhead = (static_cast<double>(keys.MemoryBytes()) - string_bytes) / keys.size();
  EXPECT_LT(overhead, 50.0);
}

// The ETag lives after the name: a longer one moves both, and the name stays right; a name too
// long to track is refused, an ETag too long to keep is unknown.
TEST(KeyTableTest, LongerEtagsMoveWithTheirNameAndOversizedStringsAreRefused) {
  KeyTable keys(10);
  const KeyId a = keys.Intern("dir/a");
  const KeyId b = keys.Intern("dir/b");
  keys.SetObject(a, 1, "\"e1\"");
  keys.SetObject(b, 1, "\"f1\"");
  keys.SetObject(a, 2, "\"a-longer-etag-than-before\"");
  EXPECT_EQ(keys.Name(a), "dir/a");
  EXPECT_EQ(keys.etag(a), "\"a-longer-etag-than-before\"");
  EXPECT_EQ(keys.Name(b), "dir/b");
  EXPECT_EQ(keys.etag(b), "\"f1\"");
  EXPECT_EQ(keys.Find("dir/a"), a);
  keys.SetObject(a, 3, "\"e2\"");
  EXPECT_EQ(keys.etag(a), "\"e2\"");
  EXPECT_EQ(keys.Name(a), "dir/a");

  EXPECT_EQ(keys.Intern(std::string(KeyTable::kMaxName + 1, 'x')), kNoKey);
  const std::string longest(KeyTable::kMaxName, 'y');
  const KeyId c = keys.Intern(longest);
  ASSERT_NE(c, kNoKey);
  EXPECT_TRUE(keys.Name(c) == longest);
  keys.SetObject(c, 1, std::string(KeyTable::kMaxEtag + 1, 'e'));
  EXPECT_EQ(keys.etag(c), "");
  keys.SetObject(c, 1, "\"ok\"");
  EXPECT_EQ(keys.etag(c), "\"ok\"");
  EXPECT_TRUE(keys.Name(c) == longest);
}

}  // namespace
}  // namespace shadowfs::predict
