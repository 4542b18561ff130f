// Fixtures for the data-path tests (FileData, Uploader): a MemBlobStore behind a
// FaultInjectionBlobStore behind a recorder of GET ranges, a shadow store with small chunks on a
// scratch directory, a FakeClock, and an Uploader.
#pragma once

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "blobstore/shadow/shadow_store.h"
#include "fs/file_data.h"
#include "fs/uploader.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::fs::testing {

using base::Result;
using base::Status;

inline constexpr uint32_t kChunk = 4096;

// Forwards to another store and remembers the [offset, length) of every GET, and can make every
// call fail (a primary that went away) after letting one PUT through.
class RecordingStore final : public blobstore::BlobStore {
 public:
  explicit RecordingStore(blobstore::BlobStore* base) : base_(base) {}
  Result<blobstore::ObjectInfo> Head(std::string_view key,
                                     const blobstore::Preconditions& c) override {
    if (down()) return Status::Unavailable("down");
    return base_->Head(key, c);
  }
  using BlobStore::Head;
  Result<blobstore::GetResult> Get(std::string_view key, const blobstore::GetOptions& o,
                                   blobstore::ByteSink& sink) override {
    std::function<void()> hook;
    {
      base::MutexLock lock(&mu_);
      gets_.emplace_back(o.range.offset(), o.range.length().value_or(0));
      hook = before_get_;
    }
    if (hook) hook();
    if (down()) return Status::Unavailable("down");
    return base_->Get(key, o, sink);
  }
  Result<blobstore::ObjectInfo> Put(std::string_view key, blobstore::ByteSource& body,
                                    const blobstore::PutOptions& o) override {
    if (down()) return Status::Unavailable("down");
    blobstore::PutOptions put = o;
    if (ignores_conditions()) put.conditions = {};  // like a server without conditional writes
    auto r = base_->Put(key, body, put);
    base::MutexLock lock(&mu_);
    if (r.ok() && crash_after_put_) {
      down_ = true;  // the PUT landed, its answer is lost, and the primary is gone
      return Status::Unavailable("connection lost");
    }
    return r;
  }
  Status Delete(std::string_view key) override { return base_->Delete(key); }
  Result<blobstore::ListPage> List(const blobstore::ListOptions& o) override {
    return base_->List(o);
  }
  Result<blobstore::ObjectInfo> Copy(std::string_view s, std::string_view d,
                                     const blobstore::CopyOptions& o) override {
    return base_->Copy(s, d, o);
  }
  Result<bool> SupportsConditionalWrites() override {
    if (ignores_conditions()) return false;
    return base_->SupportsConditionalWrites();
  }
  void IgnoreConditions() {
    base::MutexLock lock(&mu_);
    ignores_conditions_ = true;
  }
  bool ignores_conditions() const {
    base::MutexLock lock(&mu_);
    return ignores_conditions_;
  }
  std::string Describe() const override { return "recording"; }

  std::vector<std::pair<uint64_t, uint64_t>> gets() const {
    base::MutexLock lock(&mu_);
    return gets_;
  }
  size_t get_count() const { return gets().size(); }
  // Runs at the start of every Get, on the caller's thread.
  void BeforeGet(std::function<void()> hook) {
    base::MutexLock lock(&mu_);
    before_get_ = std::move(hook);
  }
  void ClearGets() {
    base::MutexLock lock(&mu_);
    gets_.clear();
  }
  void CrashAfterNextPut() {
    base::MutexLock lock(&mu_);
    crash_after_put_ = true;
  }
  bool down() const {
    base::MutexLock lock(&mu_);
    return down_;
  }

 private:
  blobstore::BlobStore* base_;
  mutable base::Mutex mu_;
  std::vector<std::pair<uint64_t, uint64_t>> gets_ GUARDED_BY(mu_);
  std::function<void()> before_get_ GUARDED_BY(mu_);
  bool crash_after_put_ GUARDED_BY(mu_) = false;
  bool down_ GUARDED_BY(mu_) = false;
  bool ignores_conditions_ GUARDED_BY(mu_) = false;
};

class RecordingSink final : public predict::AccessSink {
 public:
  void Record(const predict::AccessEvent& e) noexcept override {
    base::MutexLock lock(&mu_);
    events_.push_back(e);
  }
  std::vector<predict::AccessEvent> events() const {
    base::MutexLock lock(&mu_);
    return events_;
  }

 private:
  mutable base::Mutex mu_;
  std::vector<predict::AccessEvent> events_ GUARDED_BY(mu_);
};

inline std::string Pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + (i * 7 + i / 13) % 50);
  return s;
}

class DataTest : public ::testing::Test {
 protected:
  DataTest() : mem_(rt_.runtime().clock), faults_(&mem_, rt_.runtime().clock), primary_(&faults_) {
    options_.readahead_initial = 2 * kChunk;
    options_.readahead_max = 16 * kChunk;
    options_.hostname = "testhost";
    OpenStore();
    uploader_options_.hostname = "testhost";
    uploader_options_.retry_initial = std::chrono::milliseconds(100);
    uploader_options_.retry_max = std::chrono::milliseconds(1000);
  }
  ~DataTest() override {
    uploader_.reset();
    store_.reset();
  }

  void OpenStore() {
    shadow::ShadowStoreOptions o;
    o.dir = dir_.path() + "/store";
    o.chunk_size = kChunk;
    o.capacity_bytes = 64ull << 20;
    o.flush_interval = std::chrono::hours(1);
    o.prior_changes_per_day = 1.0;
    auto s = shadow::ShadowStore::Open(o, rt_.runtime());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void StartUploader() {
    uploader_options_.conflict = options_.conflict;
    uploader_options_.writeback = options_.writeback;
    auto u = Uploader::Create(&primary_, store_.get(), uploader_options_, rt_.runtime());
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    uploader_ = std::move(*u);
  }
  FileDataDeps Deps() {
    FileDataDeps d;
    d.primary = &primary_;
    d.store = store_.get();
    d.uploader = uploader_.get();
    d.readahead_budget = &budget_;
    d.background = &background_;
    d.access = &sink_;
    d.options = &options_;
    d.runtime = rt_.runtime();
    return d;
  }
  FileVersion Put(const std::string& key, const std::string& data) {
    auto r = blobstore::PutString(mem_, key, data);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    FileVersion v;
    v.key = key;
    v.exists = true;
    v.etag = r->etag;
    v.size = r->size;
    v.last_modified = r->last_modified;
    return v;
  }
  std::unique_ptr<FileData> Open(const FileVersion& v, bool truncate = false) {
    auto f = FileData::Open(Deps(), v, truncate, "test-proc");
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }
  static std::string ReadAll(FileData& f, size_t piece = kChunk) {
    std::string out;
    std::string buf(piece, '\0');
    for (;;) {
      auto n = f.Read(out.size(), buf);
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) break;
      out.append(buf.data(), *n);
    }
    return out;
  }
  std::string Primary(const std::string& key) {
    auto r = blobstore::GetString(mem_, key);
    return r.ok() ? *r : "<" + r.status().ToString() + ">";
  }

  shadowfs::testing::TempDir dir_;
  base::OwnedRuntime rt_;
  blobstore::MemBlobStore mem_;
  blobstore::FaultInjectionBlobStore faults_;
  RecordingStore primary_;
  FileSystemOptions options_;
  UploaderOptions uploader_options_;
  ReadaheadBudget budget_{64ull << 20};
  base::ThreadPool background_{"readahead", 2, 64};
  RecordingSink sink_;
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<Uploader> uploader_;
};

}  // namespace shadowfs::fs::testing
