// A FileSystem over MemBlobStore (behind a FaultInjectionBlobStore) with a fake clock and a
// shadow store in a temp directory: the base of the filesystem core's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "blobstore/base/runtime.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/file_system.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::fs {

class FsFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = shadow::ShadowStore::Open({.dir = dir_.path() + "/store"}, rt_.runtime());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    Mount({});
  }
  // (Re)creates the FileSystem over the same primary and store.
  void Mount(FileSystemOptions o) {
    fs_.reset();
    o.hostname = "test";
    auto fs = FileSystem::Create(
        {.primary = &faults_, .store = store_.get(), .runtime = rt_.runtime()}, o);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(*fs);
  }

  base::OwnedRuntime rt_;
  testing::TempDir dir_;
  blobstore::MemBlobStore mem_{rt_.runtime().clock};
  blobstore::FaultInjectionBlobStore faults_{&mem_, rt_.runtime().clock};
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<FileSystem> fs_;
  Caller caller_{.uid = 1001, .gid = 1002, .pid = 0};
};

}  // namespace shadowfs::fs
