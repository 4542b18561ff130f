// Materializer: fetch and fill, If-Match conflicts, the bandwidth cap on a FakeClock, the queue
// bound, and primary failures leaving nothing half-stored.
#include "blobstore/shadow/materializer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "blobstore/fault_injection_blob_store.h"
#include "blobstore/mem_blob_store.h"
#include "tests/blobstore/shadow/store_test_util.h"

namespace shadowfs::shadow {
namespace {

using base::Status;
using testing::kTestChunk;
using testing::TempDir;

// Holds every Get until opened, so that queued work stays queued.
class GatedBlobStore final : public blobstore::BlobStore {
 public:
  explicit GatedBlobStore(blobstore::BlobStore* base) : base_(base) {}
  void Open() {
    base::MutexLock lock(&mu_);
    open_ = true;
    cv_.SignalAll();
  }
  blobstore::Result<blobstore::ObjectInfo> Head(std::string_view key,
                                                const blobstore::Preconditions& c) override {
    return base_->Head(key, c);
  }
  using BlobStore::Head;
  blobstore::Result<blobstore::GetResult> Get(std::string_view key,
                                              const blobstore::GetOptions& options,
                                              blobstore::ByteSink& sink) override {
    {
      base::MutexLock lock(&mu_);
      while (!open_) cv_.Wait(&mu_);
    }
    return base_->Get(key, options, sink);
  }
  blobstore::Result<blobstore::ObjectInfo> Put(std::string_view key, blobstore::ByteSource& body,
                                               const blobstore::PutOptions& options) override {
    return base_->Put(key, body, options);
  }
  base::Status Delete(std::string_view key) override { return base_->Delete(key); }
  blobstore::Result<blobstore::ListPage> List(const blobstore::ListOptions& o) override {
    return base_->List(o);
  }
  blobstore::Result<blobstore::ObjectInfo> Copy(std::string_view s, std::string_view d,
                                                const blobstore::CopyOptions& o) override {
    return base_->Copy(s, d, o);
  }
  blobstore::Result<bool> SupportsConditionalWrites() override { return true; }
  std::string Describe() const override { return "gated"; }

 private:
  blobstore::BlobStore* const base_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool open_ GUARDED_BY(mu_) = false;
};

// Records how each prefetch ended.
class RecordingListener final : public base::PrefetchListener {
 public:
  void OnPrefetchDone(const base::PrefetchResult& r) override {
    base::MutexLock lock(&mu_);
    results_.push_back(r);
  }
  std::vector<base::PrefetchResult> results() {
    base::MutexLock lock(&mu_);
    return results_;
  }

 private:
  base::Mutex mu_;
  std::vector<base::PrefetchResult> results_ GUARDED_BY(mu_);
};

class MaterializerTest : public ::testing::Test {
 protected:
  MaterializerTest() : mem_(rt_.fake_clock()), faulty_(&mem_, rt_.fake_clock()) {
    ShadowStoreOptions o = testing::StoreOptions(dir_.path() + "/store");
    store_ = testing::OpenStore(o, rt_.runtime());
  }
  std::string Put(const std::string& key, size_t size, uint32_t seed) {
    std::string data = testing::RandomBytes(size, seed);
    auto info = blobstore::PutString(mem_, key, data);
    EXPECT_TRUE(info.ok());
    return info.ok() ? info->etag : "";
  }
  std::string Shadow(const std::string& key, size_t size) {
    return testing::ReadRange(*store_, key, 0, size).bytes;
  }

  TempDir dir_;
  base::OwnedRuntime rt_;
  blobstore::MemBlobStore mem_;
  blobstore::FaultInjectionBlobStore faulty_;
  std::unique_ptr<ShadowStore> store_;
};

TEST_F(MaterializerTest, FetchesWholeObjectsAndChunkAlignedRanges) {
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  std::string etag = Put("a", 10 * kTestChunk + 7, 1);
  ASSERT_TRUE(m.Materialize({.key = "a"}).ok());  // no ETag: a HEAD first
  EXPECT_EQ(faulty_.calls(blobstore::BlobOp::kHead), 1);
  EXPECT_EQ(store_->Find("a")->etag, etag);
  EXPECT_TRUE(store_->Find("a")->complete());
  EXPECT_EQ(Shadow("a", 10 * kTestChunk + 7), testing::RandomBytes(10 * kTestChunk + 7, 1));

  // A range in the middle expands to whole chunks.
  std::string etag_b = Put("b", 10 * kTestChunk, 2);
  ASSERT_TRUE(
      m.Materialize({.key = "b", .offset = kTestChunk + 10, .length = 100, .expected_etag = etag_b})
          .ok());
  auto info = store_->Find("b");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunks_present, 1u);
  EXPECT_EQ(testing::ReadRange(*store_, "b", kTestChunk, kTestChunk).bytes,
            testing::RandomBytes(10 * kTestChunk, 2).substr(kTestChunk, kTestChunk));
  // Already present: refused without a request.
  faulty_.ResetCounters();
  EXPECT_FALSE(m.Submit({.key = "a", .expected_etag = etag}));
  EXPECT_EQ(faulty_.total_calls(), 0);
  EXPECT_EQ(m.stats().refused, 1u);
  EXPECT_EQ(m.stats().completed, 2u);
}

// A footer's prefetch (a range past the first chunk, nothing of the object stored yet) fetches
// the ranged chunks around it, not a whole chunk; a range the partial shadow holds is refused
// without a request.
TEST_F(MaterializerTest, AFooterIsFetchedInRangedChunksAndAHeldRangeIsNotFetchedAgain) {
  ShadowStoreOptions o = testing::StoreOptions(dir_.path() + "/ranged");
  o.chunk_size = 4 * kTestChunk;
  o.ranged_chunk_size = kTestChunk;
  store_.reset();
  store_ = testing::OpenStore(o, rt_.runtime());
  ASSERT_NE(store_, nullptr);
  RecordingListener listener;
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  m.SetPrefetchListener(&listener);
  const size_t size = 16 * kTestChunk;
  const std::string etag = Put("t", size, 4);
  const uint64_t footer = size - kTestChunk / 2;
  ASSERT_TRUE(
      m.Offer({.key = "t", .offset = footer, .length = kTestChunk / 2, .expected_etag = etag}));
  m.Drain();
  ASSERT_EQ(listener.results().size(), 1u);
  EXPECT_EQ(listener.results()[0].stored_offset, size - kTestChunk);
  EXPECT_EQ(listener.results()[0].length, kTestChunk);
  auto info = store_->Find("t");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunk_size, kTestChunk);
  EXPECT_EQ(info->chunks_present, 1u);
  EXPECT_EQ(m.stats().bytes_fetched, kTestChunk);
  EXPECT_EQ(testing::ReadRange(*store_, "t", footer, kTestChunk / 2).bytes,
            testing::RandomBytes(size, 4).substr(footer));

  faulty_.ResetCounters();
  EXPECT_FALSE(m.Submit({.key = "t", .offset = footer + 10, .length = 20, .expected_etag = etag}));
  EXPECT_TRUE(m.Materialize({.key = "t", .offset = footer, .expected_etag = etag}).ok());
  EXPECT_EQ(faulty_.total_calls(), 0);
  // A range it does not hold is fetched in the shadow's chunks.
  ASSERT_TRUE(
      m.Materialize({.key = "t", .offset = kTestChunk + 1, .length = 10, .expected_etag = etag})
          .ok());
  EXPECT_EQ(faulty_.calls(blobstore::BlobOp::kGet), 1);
  EXPECT_EQ(store_->Find("t")->chunks_present, 2u);
  EXPECT_EQ(m.stats().bytes_fetched, 2 * kTestChunk);
}

// The filesystem learns a prefetched object's version (and metadata) from the GET's answer.
TEST_F(MaterializerTest, VersionObserverHearsTheVersionEachGetReturned) {
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  std::vector<blobstore::ObjectInfo> seen;
  m.SetVersionObserver([&](const blobstore::ObjectInfo& v) { seen.push_back(v); });
  blobstore::PutOptions put;
  put.metadata["mode"] = "33188";
  const std::string data = testing::RandomBytes(3 * kTestChunk, 7);
  auto info = blobstore::PutString(mem_, "v", data, put);
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(m.Materialize({.key = "v", .expected_etag = info->etag}).ok());
  ASSERT_EQ(seen.size(), 1u) << "once per request, not per piece";
  EXPECT_EQ(seen[0].key, "v");
  EXPECT_EQ(seen[0].etag, info->etag);
  EXPECT_EQ(seen[0].size, data.size());
  EXPECT_EQ(seen[0].metadata.at("mode"), "33188");
  // A failed GET (the object changed) tells nothing.
  ASSERT_TRUE(blobstore::PutString(mem_, "w", "new").ok());
  EXPECT_FALSE(m.Materialize({.key = "w", .expected_etag = "stale"}).ok());
  EXPECT_EQ(seen.size(), 1u);
}

// The prediction engine learns how its prefetches ended (timeliness, wasted bytes) from this.
TEST_F(MaterializerTest, PrefetchListenerHearsHowEachAcceptedOfferEnded) {
  RecordingListener listener;
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  m.SetPrefetchListener(&listener);
  std::string etag = Put("p", 3 * kTestChunk + 5, 1);
  Put("gone", kTestChunk, 2);
  std::string tail_etag = Put("tail", 3 * kTestChunk, 3);
  ASSERT_TRUE(m.Offer({.key = "p", .expected_etag = etag}));
  ASSERT_TRUE(m.Offer({.key = "gone", .expected_etag = "\"not-the-etag\""}));
  // A range in the middle of a chunk is fetched as that whole chunk, and reported so.
  ASSERT_TRUE(m.Offer(
      {.key = "tail", .offset = 2 * kTestChunk + 100, .length = 50, .expected_etag = tail_etag}));
  m.Drain();
  // Demand-side materializations (shadow create, warmup) are not prefetches: not reported.
  ASSERT_TRUE(m.Materialize({.key = "p"}).ok());
  auto results = listener.results();
  ASSERT_EQ(results.size(), 3u);
  std::sort(results.begin(), results.end(),
            [](const auto& a, const auto& b) { return a.key < b.key; });
  EXPECT_EQ(results[2].key, "tail");
  EXPECT_EQ(results[2].offset, 2 * kTestChunk + 100);
  EXPECT_EQ(results[2].stored_offset, 2 * kTestChunk);
  EXPECT_EQ(results[2].length, kTestChunk);
  results.pop_back();
  EXPECT_EQ(results[0].key, "gone");
  EXPECT_FALSE(results[0].ok);
  EXPECT_EQ(results[0].length, 0u);
  EXPECT_EQ(results[1].key, "p");
  EXPECT_TRUE(results[1].ok);
  EXPECT_EQ(results[1].length, 3 * kTestChunk + 5);
  EXPECT_EQ(results[1].finished, rt_.fake_clock()->Now());
  EXPECT_EQ(store_->Find("p")->origin, Origin::kPrefetch);
}

// An offer carries its probability to the store: in a full store a prefetch less likely to be
// read than what it would evict is refused for space, and the listener hears so (the planner's
// backoff).
TEST_F(MaterializerTest, APrefetchNotWorthItsSpaceIsReportedAsNoSpace) {
  store_.reset();
  ShadowStoreOptions o = testing::StoreOptions(dir_.path() + "/store");
  o.capacity_bytes = 5 * kTestChunk;
  store_ = testing::OpenStore(o, rt_.runtime());
  RecordingListener listener;
  Materializer m(&mem_, store_.get(), {}, rt_.runtime());
  m.SetPrefetchListener(&listener);
  Put("read", 3 * kTestChunk, 1);
  ASSERT_TRUE(m.Materialize({.key = "read"}).ok());  // a demand-side fill fills the store
  std::string etag = Put("p", 3 * kTestChunk, 2);
  ASSERT_TRUE(m.Offer({.key = "p", .expected_etag = etag, .probability = 0.01}));
  m.Drain();
  auto results = listener.results();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].ok);
  EXPECT_TRUE(results[0].no_space);
  EXPECT_FALSE(store_->Find("p"));
  EXPECT_TRUE(store_->Find("read"));
  ASSERT_TRUE(m.Offer({.key = "p", .expected_etag = etag, .probability = 0.99}));
  m.Drain();
  results = listener.results();
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[1].ok);
  EXPECT_FALSE(results[1].no_space);
  EXPECT_TRUE(store_->Find("p"));
  EXPECT_FALSE(store_->Find("read")) << "worth less than a prefetch almost sure to be read";
}

TEST_F(MaterializerTest, ChangedObjectIsAConflictAndDropsTheStaleShadow) {
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  std::string old_etag = Put("k", 4 * kTestChunk, 1);
  ASSERT_TRUE(m.Materialize({.key = "k", .length = kTestChunk, .expected_etag = old_etag}).ok());
  ASSERT_TRUE(store_->Find("k"));
  Put("k", 4 * kTestChunk, 2);  // someone else writes a new version
  Status s = m.Materialize({.key = "k", .offset = kTestChunk, .expected_etag = old_etag});
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  EXPECT_FALSE(store_->Find("k"));
  EXPECT_EQ(m.stats().conflicts, 1u);
  EXPECT_TRUE(testing::ShadowFiles(dir_.path() + "/store").empty());
}

TEST_F(MaterializerTest, BandwidthCapHoldsOnTheFakeClock) {
  MaterializerOptions mo;
  mo.max_concurrent = 2;
  mo.bandwidth_bytes_per_second = 64 * 1024;
  mo.burst_bytes = 16 * 1024;
  Materializer m(&faulty_, store_.get(), mo, rt_.runtime());
  std::vector<std::string> etags;
  etags.reserve(8);
  for (int i = 0; i < 8; ++i) etags.push_back(Put("o" + std::to_string(i), 32 * 1024, i));
  base::MonoTime start = rt_.fake_clock()->Monotonic();
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(m.Submit({.key = "o" + std::to_string(i), .expected_etag = etags[i]}));
  }
  m.Drain();
  double elapsed = std::chrono::duration<double>(rt_.fake_clock()->Monotonic() - start).count();
  auto stats = m.stats();
  EXPECT_EQ(stats.completed, 8u);
  EXPECT_EQ(stats.bytes_fetched, 8u * 32 * 1024);
  EXPECT_LE(static_cast<double>(stats.bytes_fetched),
            mo.bandwidth_bytes_per_second * elapsed + mo.burst_bytes);
  // It was not free either: 256 KiB at 64 KiB/s takes close to 4 s.
  EXPECT_GE(elapsed, (8.0 * 32 * 1024 - mo.burst_bytes) / mo.bandwidth_bytes_per_second);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(store_->Find("o" + std::to_string(i))->complete());
}

TEST_F(MaterializerTest, RefusesBeyondTheQueueBound) {
  GatedBlobStore gated(&mem_);
  MaterializerOptions mo;
  mo.max_concurrent = 1;
  mo.max_queued = 2;
  Materializer m(&gated, store_.get(), mo, rt_.runtime());
  std::vector<std::string> etags;
  etags.reserve(3);
  for (int i = 0; i < 3; ++i) etags.push_back(Put("q" + std::to_string(i), kTestChunk, i));
  EXPECT_TRUE(m.Submit({.key = "q0", .expected_etag = etags[0]}));
  EXPECT_TRUE(m.Submit({.key = "q1", .expected_etag = etags[1]}));
  EXPECT_FALSE(m.Submit({.key = "q2", .expected_etag = etags[2]}));
  EXPECT_FALSE(m.Offer({.key = "q2", .expected_etag = etags[2]}));
  EXPECT_EQ(m.stats().refused, 2u);
  gated.Open();
  m.Drain();
  EXPECT_EQ(m.stats().completed, 2u);
  EXPECT_TRUE(m.Submit({.key = "q2", .expected_etag = etags[2]}));
  m.Drain();
  EXPECT_EQ(store_->Find("q2")->origin, Origin::kRead);
}

TEST_F(MaterializerTest, PrimaryFailuresAreCountedAndNothingIsHalfStored) {
  Materializer m(&faulty_, store_.get(), {}, rt_.runtime());
  std::string etag = Put("f", 8 * kTestChunk, 3);
  faulty_.FailNthCall(blobstore::BlobOp::kGet, 1, Status::Unavailable("injected"));
  EXPECT_TRUE(m.Submit({.key = "f", .expected_etag = etag}));
  m.Drain();
  EXPECT_EQ(m.stats().failed, 1u);
  EXPECT_FALSE(store_->Find("f"));
  // A body cut off part-way stores nothing either.
  faulty_.DropGetsAfter(3 * kTestChunk + 100);
  EXPECT_FALSE(m.Materialize({.key = "f", .expected_etag = etag}).ok());
  EXPECT_EQ(m.stats().failed, 2u);
  EXPECT_FALSE(store_->Find("f"));
  EXPECT_TRUE(testing::ShadowFiles(dir_.path() + "/store").empty());
  // And the next attempt succeeds.
  ASSERT_TRUE(m.Materialize({.key = "f", .expected_etag = etag}).ok());
  EXPECT_EQ(Shadow("f", 8 * kTestChunk), testing::RandomBytes(8 * kTestChunk, 3));
}

}  // namespace
}  // namespace shadowfs::shadow
