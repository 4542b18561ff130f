// The BlobStore conformance suite: one set of behaviours every implementation must show. A test
// file instantiates it with a factory that makes a fresh, empty store per test.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "blobstore/blob_store.h"

namespace shadowfs::blobstore::testing {

struct ConformanceTarget {
  std::string name;
  // A fresh store with no objects in it (a new bucket, a new directory).
  std::function<std::unique_ptr<BlobStore>()> make;
  // S3 allows "a" and "a/b" at once and empty path components ("a//b"); a directory cannot.
  bool path_like_keys_only = false;
};

// So that gtest names the store in failure messages instead of dumping the struct's bytes.
inline void PrintTo(const ConformanceTarget& target, std::ostream* os) { *os << target.name; }

class BlobStoreConformance : public ::testing::TestWithParam<ConformanceTarget> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }
  BlobStore& store() { return *store_; }
  std::unique_ptr<BlobStore> store_;
};

}  // namespace shadowfs::blobstore::testing
