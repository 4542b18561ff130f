// Test helpers for running the S3 client against the RGW fixture (tests/support/rgw_env.h says
// where it is): the S3Config for a bucket there, and a BlobStore over a fresh bucket that is
// emptied (objects, versions, multipart uploads) and deleted when the store is destroyed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/s3/s3_blob_store.h"
#include "tests/support/rgw_env.h"

namespace shadowfs::s3::testing {

using shadowfs::testing::LoadRgwEnv;
using shadowfs::testing::RgwEnv;
using shadowfs::testing::UniqueBucketName;

// The S3Config for `bucket` on the RGW in `env`.
S3Config RgwConfig(const RgwEnv& env, const std::string& bucket);

// An S3BlobStore over a bucket of its own, created on construction and removed with everything
// in it on destruction.
class ScratchBucket final : public blobstore::BlobStore {
 public:
  // `tweak` may adjust the config (part sizes, retries) before the store is made.
  static base::Result<std::unique_ptr<ScratchBucket>> Create(
      const RgwEnv& env, const std::function<void(S3Config&)>& tweak = {});
  ~ScratchBucket() override;

  Result<blobstore::ObjectInfo> Head(std::string_view key,
                                     const blobstore::Preconditions& conditions) override {
    return store_->Head(key, conditions);
  }
  using BlobStore::Head;
  Result<blobstore::GetResult> Get(std::string_view key, const blobstore::GetOptions& options,
                                   blobstore::ByteSink& sink) override {
    return store_->Get(key, options, sink);
  }
  Result<blobstore::ObjectInfo> Put(std::string_view key, blobstore::ByteSource& body,
                                    const blobstore::PutOptions& options) override {
    return store_->Put(key, body, options);
  }
  Status Delete(std::string_view key) override { return store_->Delete(key); }
  Result<blobstore::ListPage> List(const blobstore::ListOptions& options) override {
    return store_->List(options);
  }
  Result<blobstore::ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                                     const blobstore::CopyOptions& options) override {
    return store_->Copy(source_key, dest_key, options);
  }
  Result<bool> SupportsConditionalWrites() override { return store_->SupportsConditionalWrites(); }
  std::string Describe() const override { return store_->Describe(); }

  S3BlobStore& s3() { return *store_; }
  base::MetricsRegistry& metrics() { return runtime_->metrics(); }

 private:
  ScratchBucket(std::unique_ptr<base::OwnedRuntime> runtime, std::unique_ptr<S3BlobStore> store)
      : runtime_(std::move(runtime)), store_(std::move(store)) {}
  void Empty();

  std::unique_ptr<base::OwnedRuntime> runtime_;
  std::unique_ptr<S3BlobStore> store_;
};

}  // namespace shadowfs::s3::testing
