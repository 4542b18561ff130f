// A FileSystem over MemBlobStore (behind a FaultInjectionBlobStore) with a fake clock and a
// shadow store in a temp directory: the base of the filesystem core's unit tests.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

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
        {.primary = &faults_, .store = store_.get(), .access = access_, .runtime = rt_.runtime()},
        o);
    ASSERT_TRUE(fs.ok()) << fs.status().ToString();
    fs_ = std::move(*fs);
  }
  // Waits (polling, with a deadline) until the store holds a complete shadow of `key`'s
  // current version on the primary.
  bool WaitForShadow(const std::string& key) {
    auto head = mem_.Head(key);
    if (!head.ok()) return false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      auto s = store_->Find(key);
      if (s && s->etag == head->etag && s->complete()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  }

  base::OwnedRuntime rt_;
  testing::TempDir dir_;
  blobstore::MemBlobStore mem_{rt_.runtime().clock};
  blobstore::FaultInjectionBlobStore faults_{&mem_, rt_.runtime().clock};
  std::unique_ptr<shadow::ShadowStore> store_;
  predict::AccessSink* access_ = nullptr;  // where the next Mount reports reads
  std::unique_ptr<FileSystem> fs_;
  Caller caller_{.uid = 1001, .gid = 1002, .pid = 0};
};

}  // namespace shadowfs::fs
