// Uploader (through FileData commits): conflict policies, a primary that is down, crash replay
// of write intents, writeback mode, and the shadow of the committed version.
#include "fs/uploader.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "tests/fs/data_test_util.h"

namespace shadowfs::fs::testing {
namespace {

class UploaderTest : public DataTest {
 protected:
  // Opens `key` at version v, writes, lets another writer change it, commits.
  base::Result<FileVersion> CommitAfterOtherWriter(const FileVersion& v) {
    auto f = Open(v);
    EXPECT_TRUE(f->Write(0, "ours").ok());
    EXPECT_TRUE(faults_.MutateNow(v.key, "theirs").ok());
    return f->Commit({});
  }
  std::vector<std::string> Keys() {
    auto page = mem_.List({});
    std::vector<std::string> out;
    if (page.ok()) {
      for (auto& o : page->objects) out.push_back(o.key);
    }
    return out;
  }
  std::string StagedFile(const std::string& data) {
    std::string path = store_->staging_dir() + "/stage-test" + std::to_string(++files_);
    std::ofstream(path) << data;
    return path;
  }
  int files_ = 0;
};

TEST_F(UploaderTest, ConflictLastWriterWins) {
  options_.conflict = ConflictPolicy::kLastWriterWins;
  StartUploader();
  auto r = CommitAfterOtherWriter(Put("k", "base"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Primary("k"), "ours");
  EXPECT_EQ(uploader_->conflicts(), 1u);
}

TEST_F(UploaderTest, ConflictCopyKeepsTheirsAndStoresOursBeside) {
  options_.conflict = ConflictPolicy::kCopy;
  StartUploader();
  auto r = CommitAfterOtherWriter(Put("dir/k", "base"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Primary("dir/k"), "theirs");
  std::vector<std::string> keys = Keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].rfind("dir/k.conflict-testhost-", 0), 0u) << keys[1];
  EXPECT_EQ(keys[1].size(), std::string("dir/k.conflict-testhost-20231114T221320Z").size());
  EXPECT_EQ(Primary(keys[1]), "ours");
  EXPECT_EQ(r->size, 6u) << "the file shows theirs now";
}

TEST_F(UploaderTest, ConflictFailKeepsOursInConflictsDir) {
  options_.conflict = ConflictPolicy::kFail;
  StartUploader();
  auto r = CommitAfterOtherWriter(Put("k", "base"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), base::StatusCode::kIOError);
  EXPECT_EQ(Primary("k"), "theirs");
  std::vector<std::string> kept;
  for (auto& e : std::filesystem::directory_iterator(dir_.path() + "/store/conflicts")) {
    kept.push_back(e.path().string());
  }
  ASSERT_EQ(kept.size(), 1u);
  std::ifstream in(kept[0]);
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(body.substr(0, 4), "ours");
  auto intents = store_->PendingWriteIntents();
  ASSERT_TRUE(intents.ok());
  EXPECT_TRUE(intents->empty());
}

TEST_F(UploaderTest, PrimaryDownDuringCommitIsRetriedUntilItComesBack) {
  StartUploader();
  FileVersion v = Put("k", "base");
  for (int n = 1; n <= 3; ++n) {
    faults_.FailNthCall(blobstore::BlobOp::kPut, n, base::Status::Unavailable("down"));
  }
  auto f = Open(v);
  ASSERT_TRUE(f->Write(4, "-more").ok());
  auto r = f->Commit({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Primary("k"), "base-more");
  EXPECT_EQ(faults_.calls(blobstore::BlobOp::kPut), 4);
  EXPECT_GE(rt_.fake_clock()->slept(), std::chrono::milliseconds(100 + 200 + 400));
  EXPECT_EQ(uploader_->conflicts(), 0u);
}

TEST_F(UploaderTest, RecordedIntentIsReplayedByTheNextUploader) {
  FileVersion v = Put("k", "old");
  {
    shadow::WriteIntent in;
    in.key = "k";
    in.staging_file = std::filesystem::path(StagedFile("replayed")).filename();
    in.size = 8;
    in.base_etag = v.etag;
    ASSERT_TRUE(store_->RecordWriteIntent(in).ok());
  }
  // The process "crashed" before uploading: reopen the store, start an Uploader.
  store_.reset();
  OpenStore();
  StartUploader();
  ASSERT_TRUE(uploader_->Drain(std::nullopt).ok());
  EXPECT_EQ(Primary("k"), "replayed");
  auto intents = store_->PendingWriteIntents();
  ASSERT_TRUE(intents.ok());
  EXPECT_TRUE(intents->empty());
}

TEST_F(UploaderTest, ReplayOfAPutThatLandedIsNotAConflict) {
  options_.writeback = true;
  StartUploader();
  FileVersion v = Put("k", "old");
  auto f = Open(v);
  ASSERT_TRUE(f->Write(0, "new!").ok());
  primary_.CrashAfterNextPut();
  auto r = f->Commit({});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->etag.empty()) << "queued";
  // The PUT lands, its answer is lost, and the primary goes away; then the process dies.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (Primary("k") != "new!" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(Primary("k"), "new!");
  f.reset();
  uploader_.reset();
  store_.reset();
  ASSERT_TRUE(faults_.MutateNow("unrelated", "x").ok());

  // Next mount: a primary that works. The replay's If-Match fails (412), but the object
  // carries this intent's tag: done, no conflict copy.
  blobstore::BlobStore* healthy = &faults_;
  OpenStore();
  auto u = Uploader::Create(healthy, store_.get(), uploader_options_, rt_.runtime());
  ASSERT_TRUE(u.ok());
  ASSERT_TRUE((*u)->Drain(std::nullopt).ok());
  EXPECT_EQ(Primary("k"), "new!");
  EXPECT_EQ((*u)->conflicts(), 0u);
  EXPECT_EQ(Keys(), (std::vector<std::string>{"k", "unrelated"}));
  auto intents = store_->PendingWriteIntents();
  ASSERT_TRUE(intents.ok());
  EXPECT_TRUE(intents->empty());
}

TEST_F(UploaderTest, WritebackQueuesAndStagedFileServesReads) {
  options_.writeback = true;
  StartUploader();
  FileVersion v = Put("k", "0123456789");
  auto f = Open(v);
  ASSERT_TRUE(f->Write(2, "ab").ok());  // fetches the base chunk
  faults_.FailRandomly(1.0, base::Status::Unavailable("down"));
  auto r = f->Commit({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->etag.empty());
  EXPECT_EQ(uploader_->pending(), 1u);
  ASSERT_TRUE(uploader_->PendingStagingPath("k").has_value());
  // Another open while the primary is still down reads the staged upload.
  auto g = Open(v);
  ASSERT_TRUE(g);
  EXPECT_EQ(ReadAll(*g), "01ab456789");
  // Writes on top of a queued upload chain after it.
  ASSERT_TRUE(f->Write(10, "XY").ok());
  ASSERT_TRUE(f->Commit({}).ok());
  EXPECT_EQ(Primary("k"), "0123456789");
  faults_.ClearFaults();
  ASSERT_TRUE(uploader_->Drain(std::nullopt).ok());
  EXPECT_EQ(Primary("k"), "01ab456789XY");
  EXPECT_EQ(uploader_->pending(), 0u);
  EXPECT_EQ(uploader_->conflicts(), 0u);
}

TEST_F(UploaderTest, CommittedVersionBecomesAWriteShadow) {
  StartUploader();
  FileVersion v;
  v.key = "s";
  auto f = Open(v, true);
  const std::string data = Pattern(3 * kChunk + 7, 'q');
  ASSERT_TRUE(f->Write(0, data).ok());
  auto r = f->Commit({});
  ASSERT_TRUE(r.ok());
  uploader_->WaitForKey("s");
  auto info = store_->Find("s");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->etag, r->etag);
  EXPECT_EQ(info->origin, shadow::Origin::kWrite);
  EXPECT_TRUE(info->complete());
  // And reads of the new version come from it.
  primary_.ClearGets();
  auto g = Open(*r);
  EXPECT_EQ(ReadAll(*g), data);
  EXPECT_EQ(primary_.get_count(), 0u);
  EXPECT_TRUE(std::filesystem::is_empty(store_->staging_dir()));
}

TEST_F(UploaderTest, WithoutConditionalWritesAHeadBeforeThePutFindsTheConflict) {
  primary_.IgnoreConditions();
  options_.conflict = ConflictPolicy::kCopy;
  StartUploader();
  FileVersion v = Put("k", "base");
  {
    auto f = Open(v);
    ASSERT_TRUE(f->Write(4, "+1").ok());
    ASSERT_TRUE(f->Commit({}).ok());
    EXPECT_EQ(Primary("k"), "base+1");
  }
  auto r = CommitAfterOtherWriter(Put("k", "base2"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Primary("k"), "theirs");
  EXPECT_EQ(uploader_->conflicts(), 1u);
  EXPECT_EQ(Keys().size(), 2u);
}

TEST_F(UploaderTest, DrainWithADeadlineReportsWhatIsLeft) {
  options_.writeback = true;
  StartUploader();
  faults_.FailRandomly(1.0, base::Status::Unavailable("down"));
  UploadRequest req;
  req.key = "late";
  req.staging_path = StagedFile("data");
  req.size = 4;
  ASSERT_TRUE(uploader_->Upload(req).ok());
  base::Status s = uploader_->Drain(rt_.fake_clock()->Monotonic() + std::chrono::seconds(5));
  EXPECT_EQ(s.code(), base::StatusCode::kUnavailable);
  EXPECT_EQ(uploader_->pending(), 1u);
  uploader_.reset();  // the intent stays for the next mount
  auto intents = store_->PendingWriteIntents();
  ASSERT_TRUE(intents.ok());
  ASSERT_EQ(intents->size(), 1u);
  EXPECT_GT((*intents)[0].attempts, 0u);
  EXPECT_FALSE((*intents)[0].last_error.empty());
}

TEST_F(UploaderTest, UploadsOfOneKeyRunInCommitOrder) {
  options_.writeback = true;
  StartUploader();
  for (int i = 0; i < 5; ++i) {
    UploadRequest req;
    req.key = "order";
    req.staging_path = StagedFile("v" + std::to_string(i));
    req.size = 2;
    auto r = uploader_->Upload(req);
    ASSERT_TRUE(r.ok());
  }
  ASSERT_TRUE(uploader_->Drain(std::nullopt).ok());
  EXPECT_EQ(Primary("order"), "v4");
}

}  // namespace
}  // namespace shadowfs::fs::testing
