// The reconciler against Ceph RGW (the ctest fixture "rgw") through S3BlobStore: what a real
// ListObjectsV2 says about shadows whose objects another writer changed or deleted, the request
// count, and seeking with start-after past a truncated page.
#include <gtest/gtest.h>

#include <cstdio>

#include "blobstore/base/runtime.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/reconcile/reconciler.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "tests/blobstore/reconcile/reconcile_test_util.h"
#include "tests/blobstore/s3/rgw_test_env.h"

namespace shadowfs::reconcile::testing {
namespace {

using blobstore::BlobOp;
using s3::testing::ScratchBucket;

class ReconcilerRgwTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto env = s3::testing::LoadRgwEnv();
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    auto bucket = ScratchBucket::Create(*env);
    ASSERT_TRUE(bucket.ok()) << bucket.status().ToString();
    bucket_ = std::move(bucket).value();
    primary_ =
        std::make_unique<blobstore::FaultInjectionBlobStore>(bucket_.get(), runtime_.fake_clock());
    shadow::ShadowStoreOptions options;
    options.dir = dir_.path() + "/store";
    auto store = shadow::ShadowStore::Open(options, runtime_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
  }

  std::string PutWithShadow(const std::string& key, const std::string& data) {
    auto info = blobstore::PutString(*bucket_, key, data);
    EXPECT_TRUE(info.ok()) << info.status().ToString();
    if (!info.ok()) return "";
    base::Status st = store_->Fill(key, info->etag, data.size(), 0, data, {});
    EXPECT_TRUE(st.ok()) << st.ToString();
    return info->etag;
  }

  std::unique_ptr<Reconciler> MakeReconciler(shadow::Materializer* materializer = nullptr,
                                             base::ReuseScorer* scorer = nullptr) {
    ReconcilerOptions options;
    options.store_dir = dir_.path() + "/store";
    auto r = Reconciler::Create(primary_.get(), store_.get(), materializer, scorer, options,
                                runtime_.runtime());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  TempDir dir_;
  base::OwnedRuntime runtime_;
  std::unique_ptr<ScratchBucket> bucket_;
  std::unique_ptr<blobstore::FaultInjectionBlobStore> primary_;
  std::unique_ptr<shadow::ShadowStore> store_;
};

TEST_F(ReconcilerRgwTest, MatchesChangesAndDeletesFromAnotherWriter) {
  PutWithShadow("fs/same", "unchanged");
  PutWithShadow("fs/caf\xC3\xA9 menu.txt", "a key with a space and an accent");
  PutWithShadow("fs/edited", "v1");
  PutWithShadow("fs/hot", "hot v1");
  PutWithShadow("fs/sub/removed", "soon gone");
  ASSERT_TRUE(blobstore::PutString(*bucket_, "fs/unshadowed", "not ours").ok());
  // Another writer, straight to the bucket.
  ASSERT_TRUE(blobstore::PutString(*bucket_, "fs/edited", "v2 from someone else").ok());
  auto hot = blobstore::PutString(*bucket_, "fs/hot", "hot v2, refetched");
  ASSERT_TRUE(hot.ok());
  ASSERT_TRUE(bucket_->Delete("fs/sub/removed").ok());
  runtime_.fake_clock()->Advance(std::chrono::hours(24 * 30));

  TableScorer scorer;
  scorer.Set("fs/hot", 1.0);
  shadow::Materializer materializer(primary_.get(), store_.get(), {}, runtime_.runtime());
  auto reconciler = MakeReconciler(&materializer, &scorer);
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.matched, 2u);
  EXPECT_EQ(report.changed, 2u);
  EXPECT_EQ(report.deleted, 1u);
  EXPECT_EQ(report.rematerialized, 1u);
  EXPECT_EQ(report.list_requests, 1u);
  EXPECT_EQ(primary_->calls(BlobOp::kHead), 0);
  EXPECT_NEAR(store_->Find("fs/same")->confidence, 1.0, 1e-9);
  EXPECT_NEAR(store_->Find("fs/caf\xC3\xA9 menu.txt")->confidence, 1.0, 1e-9);
  EXPECT_FALSE(store_->Find("fs/edited").has_value());
  EXPECT_FALSE(store_->Find("fs/sub/removed").has_value());
  materializer.Drain();
  auto refetched = store_->Find("fs/hot");
  ASSERT_TRUE(refetched.has_value());
  EXPECT_EQ(refetched->etag, hot->etag);
}

TEST_F(ReconcilerRgwTest, OneRequestPerThousandAndSeeksPastTruncatedPages) {
  constexpr int kObjects = 1100;
  auto key = [](int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "many/k%05d", i);
    return std::string(buf);
  };
  for (int i = 0; i < kObjects; ++i) PutWithShadow(key(i), "o" + std::to_string(i));
  auto reconciler = MakeReconciler();
  primary_->ResetCounters();
  CycleReport report = reconciler->RunCycle();
  ASSERT_TRUE(report.error.ok()) << report.error.ToString();
  EXPECT_EQ(report.matched, static_cast<uint64_t>(kObjects));
  EXPECT_EQ(primary_->calls(BlobOp::kList), 2);
  EXPECT_EQ(primary_->calls(BlobOp::kHead), 0);

  // Two shadows far apart: the second is reached with a start-after seek, which RGW must honour
  // exactly (a wrong answer would make the shadow look deleted).
  for (int i = 0; i < kObjects; ++i) {
    if (i != 3 && i != kObjects - 1) {
      ASSERT_TRUE(store_->Drop(key(i)).ok());
    }
  }
  CycleReport sparse = reconciler->RunCycle();
  ASSERT_TRUE(sparse.error.ok()) << sparse.error.ToString();
  EXPECT_EQ(sparse.matched, 2u);
  EXPECT_EQ(sparse.deleted, 0u);
  EXPECT_EQ(sparse.list_requests, 2u);
  EXPECT_TRUE(store_->Find(key(kObjects - 1)).has_value());
}

}  // namespace
}  // namespace shadowfs::reconcile::testing
