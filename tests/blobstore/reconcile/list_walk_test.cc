// The key arithmetic behind the reconciler's seeking listing.
#include "blobstore/reconcile/list_walk.h"

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"

namespace shadowfs::reconcile {
namespace {

TEST(ListWalkTest, CommonPrefix) {
  EXPECT_EQ(CommonPrefix({}), "");
  EXPECT_EQ(CommonPrefix({"a/b/c"}), "a/b/c");
  EXPECT_EQ(CommonPrefix({"a/b/c", "a/b/d", "a/bx"}), "a/b");
  EXPECT_EQ(CommonPrefix({"x", "y"}), "");
  // "é" is C3 A9 and "è" C3 A8: the shared C3 must not be kept on its own.
  EXPECT_EQ(CommonPrefix({"d/\xC3\xA9", "d/\xC3\xA8"}), "d/");
}

TEST(ListWalkTest, SeekPointIsJustBelowTheKey) {
  for (std::string key : {"a", "dir/file7", "dir/x!", "d/\xC3\xA9", "d/caf\xC3\xA9-1", "d/ "}) {
    std::string seek = SeekPointBefore(key);
    EXPECT_LT(seek, key) << key;
  }
  // Nothing a user would name lies between them: "dir/file6..." sorts before the seek point.
  std::string seek = SeekPointBefore("dir/file7");
  EXPECT_LT(std::string("dir/file6"), seek);
  EXPECT_LT(std::string("dir/file69999"), seek);
  EXPECT_LT(std::string("dir/file6\xF0\x9F\x98\x80"), seek);  // an emoji
  EXPECT_EQ(SeekPointBefore("d/\xC3\xA9"), "d/");
  EXPECT_EQ(SeekPointBefore("\xC3\xA9"), "");
}

TEST(ListWalkTest, ResolvesEveryKeyOnceInOrderAcrossPages) {
  base::OwnedRuntime runtime;
  blobstore::MemBlobStore mem(runtime.fake_clock());
  blobstore::FaultInjectionBlobStore primary(&mem, runtime.fake_clock());
  std::vector<std::string> keys;
  for (int i = 0; i < 30; ++i) {
    std::string key = "p/k" + std::to_string(100 + i);
    ASSERT_TRUE(blobstore::PutString(mem, key, "v").ok());
    if (i % 3 == 0) keys.push_back(key);
  }
  keys.push_back("p/k999");  // absent, past every object
  std::vector<std::pair<std::string, bool>> seen;
  uint64_t requests = 0;
  ListWalkOptions options;
  options.max_keys = 4;
  base::Status st = WalkListing(
      primary, keys, options,
      [&](size_t i, const blobstore::ObjectInfo* listed) {
        seen.emplace_back(keys[i], listed != nullptr);
        if (listed) {
          EXPECT_EQ(listed->key, keys[i]);
        }
      },
      &requests);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(seen.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(seen[i].first, keys[i]);
    EXPECT_EQ(seen[i].second, i + 1 < keys.size()) << keys[i];
  }
  EXPECT_EQ(static_cast<int64_t>(requests), primary.calls(blobstore::BlobOp::kList));
  EXPECT_LE(requests, 8u);  // a flat listing of 30 objects 4 at a time takes 8
}

}  // namespace
}  // namespace shadowfs::reconcile
