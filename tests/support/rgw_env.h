// Where the test run's RADOS Gateway is: read from the file named by SHADOWFS_RGW_ENV, which the
// ctest fixture "rgw" (tests/fixtures/rgw.sh) writes. Tests that need RGW fail, not skip, when it
// is missing, so a broken fixture can never pass silently.
#pragma once

#include <string>
#include <string_view>

#include "blobstore/base/result.h"

namespace shadowfs::testing {

struct RgwEnv {
  std::string endpoint;  // http://127.0.0.1:PORT
  std::string access_key;
  std::string secret_key;
  std::string region;
};

base::Result<RgwEnv> LoadRgwEnv();

// A bucket name no other test in this run uses: lower-case, 3..63 characters.
std::string UniqueBucketName(std::string_view hint);

}  // namespace shadowfs::testing
