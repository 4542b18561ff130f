// The BlobStore conformance suite against Ceph RGW (the ctest fixture "rgw"), twice: with the
// default transfer sizes, and with small ones so that parallel ranged GETs and multipart uploads
// with many parts run on every large-ish object.
#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "tests/blobstore/conformance.h"
#include "tests/blobstore/s3/rgw_test_env.h"

namespace shadowfs::s3::testing {
namespace {

using blobstore::BlobStore;
using blobstore::testing::BlobStoreConformance;
using blobstore::testing::ConformanceTarget;

// Without the fixture every test fails (with the reason) instead of quietly passing or skipping.
std::unique_ptr<BlobStore> Unreachable(const std::string& why) {
  ADD_FAILURE() << why;
  static base::OwnedRuntime runtime;  // function-local: lives as long as any store made here
  S3Config config;
  config.endpoint = "http://127.0.0.1:1";
  config.bucket = "unreachable";
  config.retry.max_attempts = 1;
  return std::move(S3BlobStore::Create(config, runtime.runtime())).value();
}

std::function<std::unique_ptr<BlobStore>()> MakeStore(std::function<void(S3Config&)> tweak) {
  return [tweak]() -> std::unique_ptr<BlobStore> {
    auto env = LoadRgwEnv();
    if (!env.ok()) return Unreachable(env.status().ToString());
    auto bucket = ScratchBucket::Create(*env, tweak);
    if (!bucket.ok()) return Unreachable("creating a bucket on RGW: " + bucket.status().ToString());
    return std::move(bucket).value();
  };
}

INSTANTIATE_TEST_SUITE_P(Rgw, BlobStoreConformance,
                         ::testing::Values(ConformanceTarget{"default_sizes", MakeStore({})},
                                           ConformanceTarget{
                                               "small_parts", MakeStore([](S3Config& c) {
                                                 c.multipart_threshold = 6u << 20;
                                                 c.part_size = 5u << 20;
                                                 c.parallel_get_threshold = 256u << 10;
                                                 c.get_part_size = 192u << 10;
                                                 c.parallelism = 6;
                                               })}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace shadowfs::s3::testing
