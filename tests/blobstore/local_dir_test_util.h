// Helpers for the LocalDirBlobStore tests: a temporary directory removed afterwards, plain file
// I/O behind the store's back, and a store that owns its directory (for the conformance suite).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/local_dir_blob_store.h"
#include "tests/blobstore/list_keys.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::blobstore::testing {

using shadowfs::testing::TempDir;

inline void WriteFile(const std::string& path, const std::string& data) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline size_t CountEntries(const std::string& dir) {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); ++it) {
    ++n;
  }
  return n;
}

class OwningLocalDirStore final : public BlobStore {
 public:
  explicit OwningLocalDirStore(base::Clock* clock) {
    auto opened = LocalDirBlobStore::Open(dir_.path(), clock);
    EXPECT_TRUE(opened.ok()) << opened.status().ToString();
    if (opened.ok()) store_ = std::move(*opened);
  }
  Result<ObjectInfo> Head(std::string_view key, const Preconditions& conditions) override {
    return store_->Head(key, conditions);
  }
  using BlobStore::Head;
  Result<GetResult> Get(std::string_view key, const GetOptions& options, ByteSink& sink) override {
    return store_->Get(key, options, sink);
  }
  Result<ObjectInfo> Put(std::string_view key, ByteSource& body,
                         const PutOptions& options) override {
    return store_->Put(key, body, options);
  }
  Status Delete(std::string_view key) override { return store_->Delete(key); }
  Result<ListPage> List(const ListOptions& options) override { return store_->List(options); }
  Result<ObjectInfo> Copy(std::string_view source_key, std::string_view dest_key,
                          const CopyOptions& options) override {
    return store_->Copy(source_key, dest_key, options);
  }
  Result<bool> SupportsConditionalWrites() override { return store_->SupportsConditionalWrites(); }
  std::string Describe() const override { return store_->Describe(); }

 private:
  TempDir dir_;  // declared first: removed after the store is closed
  std::unique_ptr<LocalDirBlobStore> store_;
};

// A fresh LocalDirBlobStore over a temp directory, reopenable as after a restart.
class LocalDirFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Reopen();
  }
  void Reopen() {
    store_.reset();
    auto opened = LocalDirBlobStore::Open(dir_.path(), &clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(*opened);
  }
  std::string Path(const std::string& relative) const { return dir_.path() + "/" + relative; }
  LocalDirBlobStore& store() { return *store_; }

  base::SystemClock clock_;
  TempDir dir_;  // before store_, so that the store closes first
  std::unique_ptr<LocalDirBlobStore> store_;
};

}  // namespace shadowfs::blobstore::testing
