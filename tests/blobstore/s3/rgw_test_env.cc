#include "tests/blobstore/s3/rgw_test_env.h"

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

namespace shadowfs::s3::testing {

using base::Result;
using base::Status;

S3Config RgwConfig(const RgwEnv& env, const std::string& bucket) {
  S3Config config;
  config.endpoint = env.endpoint;
  config.region = env.region;
  config.bucket = bucket;
  config.path_style = true;
  config.credentials.access_key_id = env.access_key;
  config.credentials.secret_access_key = env.secret_key;
  config.credentials.source = "SHADOWFS_RGW_ENV";
  config.connect_timeout = std::chrono::seconds(5);
  config.stall_timeout = std::chrono::seconds(30);
  config.retry.base_delay = std::chrono::milliseconds(50);
  config.retry.max_delay = std::chrono::milliseconds(1000);
  return config;
}

Result<std::unique_ptr<ScratchBucket>> ScratchBucket::Create(
    const RgwEnv& env, const std::function<void(S3Config&)>& tweak) {
  // Real time: RGW checks the signature's timestamp.
  auto runtime = std::make_unique<base::OwnedRuntime>(base::OwnedRuntime::Time::kSystem,
                                                      base::LogLevel::kWarning);
  S3Config config = RgwConfig(env, UniqueBucketName("s3"));
  if (tweak) tweak(config);
  SHADOWFS_ASSIGN_OR_RETURN(auto store, S3BlobStore::Create(config, runtime->runtime()));
  SHADOWFS_RETURN_IF_ERROR(store->CreateBucket());
  return std::unique_ptr<ScratchBucket>(new ScratchBucket(std::move(runtime), std::move(store)));
}

ScratchBucket::~ScratchBucket() {
  Empty();
  Status deleted = store_->DeleteBucket();
  if (!deleted.ok()) {
    std::fprintf(stderr, "warning: could not delete test bucket %s: %s\n",
                 store_->Describe().c_str(), deleted.ToString().c_str());
  }
}

void ScratchBucket::Empty() {
  auto uploads = store_->ListMultipartUploads("");
  if (uploads.ok()) {
    for (const auto& u : *uploads) (void)store_->AbortMultipartUpload(u.key, u.upload_id);
  }
  // Every version (or, unversioned, every object), deleted by a few threads: some tests leave
  // over a thousand keys.
  std::vector<std::pair<std::string, std::string>> doomed;
  auto versions = store_->ListVersions("");
  if (versions.ok()) {
    for (const auto& v : *versions) doomed.emplace_back(v.key, v.version_id);
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < doomed.size();) {
        const auto& [key, version] = doomed[i];
        // versionId=null names the version an unversioned write made.
        if (version.empty() || !store_->DeleteVersion(key, version).ok()) {
          (void)store_->Delete(key);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
}

}  // namespace shadowfs::s3::testing
