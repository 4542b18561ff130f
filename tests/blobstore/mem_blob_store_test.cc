#include "blobstore/mem_blob_store.h"

#include "blobstore/base/clock.h"
#include "tests/blobstore/conformance.h"

namespace shadowfs::blobstore::testing {
namespace {

base::SystemClock system_clock;

INSTANTIATE_TEST_SUITE_P(Mem, BlobStoreConformance,
                         ::testing::Values(ConformanceTarget{
                             "mem", [] { return std::make_unique<MemBlobStore>(&system_clock); }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace shadowfs::blobstore::testing
