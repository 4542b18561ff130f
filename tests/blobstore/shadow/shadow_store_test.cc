// ShadowStore: the serving rule, Fill (new, extend, replace), verification and the confidence
// model, pins, TTLs, capacity, batched catalog writes and recovery at Open.
#include "blobstore/shadow/shadow_store.h"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/shadow/mapped_file.h"
#include "blobstore/shadow/shadow_writer.h"
#include "tests/blobstore/shadow/store_test_util.h"

namespace shadowfs::shadow {
namespace {

using namespace std::chrono_literals;
using testing::kTestChunk;
using testing::OpenStore;
using testing::ReadRange;
using testing::ShadowFiles;
using testing::StoreOptions;
using testing::TempDir;
using testing::VersionBytes;

class ShadowStoreTest : public ::testing::Test {
 protected:
  ShadowStoreTest() : options_(StoreOptions(dir_.path() + "/store")) { Reopen(); }

  void Reopen() {
    store_.reset();
    store_ = OpenStore(options_, rt_.runtime());
    ASSERT_NE(store_, nullptr);
  }
  void FillAll(const std::string& key, const std::string& etag, size_t size,
               const FillOptions& fo = {}) {
    std::string data = VersionBytes(key, etag, size);
    ASSERT_TRUE(store_->Fill(key, etag, size, 0, data, fo).ok());
  }
  base::FakeClock& clock() { return *rt_.fake_clock(); }
  uint64_t Transactions() {
    return rt_.metrics().GetCounter("shadowfs_shadow_catalog_transactions_total", "").value();
  }

  TempDir dir_;
  base::OwnedRuntime rt_;
  ShadowStoreOptions options_;
  std::unique_ptr<ShadowStore> store_;
};

TEST_F(ShadowStoreTest, ServesAFilledShadowAndSaysNoShadowOtherwise) {
  EXPECT_EQ(ReadRange(*store_, "a/b", 0, 10).read.miss, Miss::kNoShadow);
  FillAll("a/b", "e1", 10000);
  auto s = ReadRange(*store_, "a/b", 100, 5000);
  ASSERT_EQ(s.read.miss, Miss::kNone);
  EXPECT_EQ(s.read.etag, "e1");
  EXPECT_EQ(s.bytes, VersionBytes("a/b", "e1", 10000).substr(100, 5000));
  // Clipped at the end of the object, and empty past it.
  s = ReadRange(*store_, "a/b", 9000, 5000);
  ASSERT_EQ(s.read.miss, Miss::kNone);
  EXPECT_EQ(s.bytes.size(), 1000u);
  s = ReadRange(*store_, "a/b", 20000, 10);
  EXPECT_EQ(s.read.miss, Miss::kNone);
  EXPECT_EQ(s.read.bytes, 0u);
}

// A serving reader (an open file) reads large raw chunks through a mapping of the shadow, which
// the store gives up when the reader's file is closed (Unmap), and with the shadow when it goes.
TEST_F(ShadowStoreTest, AServingReadersMappingIsGivenBackByUnmapAndWithTheShadow) {
  options_.chunk_size = 256 * 1024;  // large enough to be mapped
  Reopen();
  const size_t before = MappedFile::live();
  FillAll("big", "e1", 600 * 1024);  // random bytes: stored raw
  ReadContext serving(ReadContext::Use::kServing);
  std::string out(600 * 1024, '\0');
  auto r = store_->Read("big", 0, out, serving);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->miss, Miss::kNone);
  EXPECT_EQ(out, VersionBytes("big", "e1", 600 * 1024));
  EXPECT_EQ(MappedFile::live(), before + 1);
  store_->Unmap("big");
  EXPECT_EQ(MappedFile::live(), before);
  store_->Unmap("no such key");  // nothing to do
  ASSERT_TRUE(store_->Read("big", 0, out, serving).ok());
  EXPECT_EQ(MappedFile::live(), before + 1);
  ASSERT_TRUE(store_->Drop("big").ok());
  EXPECT_EQ(MappedFile::live(), before);
}

TEST_F(ShadowStoreTest, OneProcessPerStoreAndTheLockGoesWithTheStore) {
  auto second = ShadowStore::Open(options_, rt_.runtime());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ(second.status().message(),
            "shadow store " + options_.dir + " is in use by pid " + std::to_string(::getpid()));
  store_.reset();
  auto after = ShadowStore::Open(options_, rt_.runtime());
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST_F(ShadowStoreTest, PartialThenExtendedToComplete) {
  const size_t size = 5 * kTestChunk + 100;
  std::string data = VersionBytes("k", "e", size);
  // Chunks 1 and 2 only (the data ends inside chunk 3, which is not stored).
  ASSERT_TRUE(
      store_->Fill("k", "e", size, kTestChunk, data.substr(kTestChunk, 2 * kTestChunk + 50), {})
          .ok());
  auto info = store_->Find("k");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunks_present, 2u);
  EXPECT_EQ(ReadRange(*store_, "k", kTestChunk, 2 * kTestChunk).bytes,
            data.substr(kTestChunk, 2 * kTestChunk));
  auto s = ReadRange(*store_, "k", 0, 100);
  EXPECT_EQ(s.read.miss, Miss::kPartial);
  EXPECT_EQ(s.read.first_missing_chunk, 0u);
  s = ReadRange(*store_, "k", 2 * kTestChunk, 2 * kTestChunk);
  EXPECT_EQ(s.read.miss, Miss::kPartial);
  EXPECT_EQ(s.read.first_missing_chunk, 3u);
  // The rest, including the short last chunk.
  ASSERT_TRUE(store_->Fill("k", "e", size, 0, data, {}).ok());
  info = store_->Find("k");
  EXPECT_TRUE(info->complete());
  EXPECT_EQ(ReadRange(*store_, "k", 0, size).bytes, data);
  // Not rewritten: a second identical fill stores nothing.
  uint64_t used = store_->used_bytes();
  ASSERT_TRUE(store_->Fill("k", "e", size, 0, data, {}).ok());
  EXPECT_EQ(store_->used_bytes(), used);
  EXPECT_FALSE(store_->Fill("k", "e", size, 100, data.substr(100), {}).ok());  // unaligned
}

// A shadow started past offset 0 (a footer, a column chunk) is chunked at ranged_chunk_size, so
// that a prefetch of a few KiB there fetches and stores that much, not a whole chunk around it.
TEST_F(ShadowStoreTest, AShadowStartedPastZeroHasRangedChunksAndSaysWhatItHolds) {
  constexpr uint32_t kChunk = 4 * kTestChunk, kRanged = kTestChunk;
  options_.chunk_size = kChunk;
  options_.ranged_chunk_size = kRanged;
  Reopen();
  const size_t size = 8 * kChunk + 100;
  const std::string data = VersionBytes("f", "e", size);
  // Where a fill must start: the configured chunk size below the ranged size (the shadow starts
  // at 0), the ranged size past it; the shadow's own once there is one of that version.
  EXPECT_EQ(store_->FillChunkSize("f", "e", kRanged - 1), kChunk);
  EXPECT_EQ(store_->FillChunkSize("f", "e", 5 * kChunk + 7), kRanged);
  const uint64_t footer = size - kRanged - 100;  // the last whole ranged chunk and the tail
  ASSERT_EQ(footer % kRanged, 0u);
  ASSERT_TRUE(store_->Fill("f", "e", size, footer, std::string_view(data).substr(footer), {}).ok());
  auto info = store_->Find("f");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunk_size, kRanged);
  EXPECT_EQ(info->chunks_present, 2u);
  EXPECT_EQ(store_->FillChunkSize("f", "e", 0), kRanged);
  EXPECT_EQ(store_->FillChunkSize("f", "other", 0), kChunk);
  EXPECT_EQ(ReadRange(*store_, "f", footer, size - footer).bytes, data.substr(footer));
  EXPECT_EQ(ReadRange(*store_, "f", footer - 1, 1).read.miss, Miss::kPartial);

  EXPECT_TRUE(store_->Holds("f", "e", footer, 0));
  EXPECT_TRUE(store_->Holds("f", "e", size - 10, 10));
  EXPECT_TRUE(store_->Holds("f", "e", footer + 1, 50));
  EXPECT_FALSE(store_->Holds("f", "e", footer - 1, 2));
  EXPECT_FALSE(store_->Holds("f", "e", 0, 0));
  EXPECT_FALSE(store_->Holds("f", "other", footer, 0));
  EXPECT_FALSE(store_->Holds("g", "e", 0, 0));
  EXPECT_FALSE(store_->Holds("f", "e", size, 1));  // past the end: nothing to hold

  // Filled from 0 later, the shadow keeps its chunks.
  ASSERT_TRUE(store_->Fill("f", "e", size, 0, data, {}).ok());
  info = store_->Find("f");
  EXPECT_TRUE(info->complete());
  EXPECT_EQ(info->chunk_size, kRanged);
  EXPECT_TRUE(store_->Holds("f", "e", 0, 0));
  EXPECT_EQ(ReadRange(*store_, "f", 0, size).bytes, data);
  // A new shadow from 0 gets the configured size.
  FillAll("h", "e", size);
  EXPECT_EQ(store_->Find("h")->chunk_size, kChunk);
}

// Chunks are stored raw (served at the cost of a plain file read) while the store is less than
// raw_below_fill full, and compressed once space is short; raw shadows stay raw.
TEST_F(ShadowStoreTest, ChunksAreRawWhileTheStoreHasRoomAndCompressedOnceItIsHalfFull) {
  options_.capacity_bytes = 64 * kTestChunk;
  options_.raw_below_fill = 0.5;
  Reopen();
  const size_t size = 12 * kTestChunk;
  auto fill = [&](const std::string& key) {
    const std::string text = testing::TextBytes(size, 3);
    EXPECT_TRUE(store_->Fill(key, "e", size, 0, text, {}).ok());
    EXPECT_EQ(ReadRange(*store_, key, 0, size).bytes, text);
    return store_->Find(key)->chunks_by_codec;
  };
  const auto raw = static_cast<size_t>(Codec::kNone), lz4 = static_cast<size_t>(Codec::kLz4);
  int raw_shadows = 0;
  while (store_->used_bytes() < options_.capacity_bytes / 2) {
    EXPECT_EQ(fill("raw" + std::to_string(raw_shadows++))[raw], 12u);
  }
  EXPECT_GE(raw_shadows, 2);
  EXPECT_EQ(fill("compressed")[lz4], 12u);
  EXPECT_EQ(store_->Find("raw0")->chunks_by_codec[raw], 12u);
  options_.raw_below_fill = 1.5;
  EXPECT_EQ(ShadowStore::Open(options_, rt_.runtime()).status().code(),
            base::StatusCode::kInvalidArgument);
}

TEST_F(ShadowStoreTest, NotYetValidUntilValidFromThenServes) {
  FillOptions fo;
  fo.valid_from = clock().Now() + 1h;
  FillAll("k", "e", 100, fo);
  EXPECT_EQ(ReadRange(*store_, "k", 0, 100).read.miss, Miss::kNotYetValid);
  clock().Advance(1h);
  EXPECT_EQ(ReadRange(*store_, "k", 0, 100).read.miss, Miss::kNone);
}

TEST_F(ShadowStoreTest, ExpiresAtTtlAndMaintenanceRemovesIt) {
  options_.min_confidence = 0;  // isolate expiry from confidence decay
  Reopen();
  FillOptions fo;
  fo.ttl = 10min;
  FillAll("k", "e", 100, fo);
  FillAll("pinned", "e", 100, {.ttl = 10min, .pin = true});
  FillAll("forever", "e", 100);
  EXPECT_EQ(ReadRange(*store_, "k", 0, 100).read.miss, Miss::kNone);
  clock().Advance(10min);
  EXPECT_EQ(ReadRange(*store_, "k", 0, 100).read.miss, Miss::kExpired);
  EXPECT_EQ(ReadRange(*store_, "pinned", 0, 100).read.miss, Miss::kExpired);
  auto report = store_->ExpireAndEvict();
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->expired, 1u);
  EXPECT_FALSE(store_->Find("k"));
  EXPECT_TRUE(store_->Find("pinned"));  // pinned shadows are never removed by maintenance
  EXPECT_EQ(ReadRange(*store_, "forever", 0, 100).read.miss, Miss::kNone);
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 2u);
}

TEST_F(ShadowStoreTest, CorruptChunkIsNeverServedAndTheNextFillRepairsIt) {
  const size_t size = 3 * kTestChunk;
  FillAll("k", "e", size);
  auto files = ShadowFiles(options_.dir);
  ASSERT_EQ(files.size(), 1u);
  format::Entry entry = testing::EntryOnDisk(files[0], 1);
  ASSERT_TRUE(entry.present());
  testing::FlipBit(files[0], entry.data_offset + 7, 3);
  // Chunk 0 still serves; a read touching chunk 1 does not.
  EXPECT_EQ(ReadRange(*store_, "k", 0, kTestChunk).read.miss, Miss::kNone);
  auto s = ReadRange(*store_, "k", 0, size);
  EXPECT_EQ(s.read.miss, Miss::kCorrupt);
  EXPECT_EQ(s.read.first_missing_chunk, 1u);
  EXPECT_TRUE(s.bytes.empty());
  EXPECT_EQ(rt_.metrics().GetCounter("shadowfs_shadow_corrupt_chunks_total", "").value(), 1u);
  // Dropped: now it is simply absent.
  EXPECT_EQ(ReadRange(*store_, "k", kTestChunk, 10).read.miss, Miss::kPartial);
  FillAll("k", "e", size);
  s = ReadRange(*store_, "k", 0, size);
  ASSERT_EQ(s.read.miss, Miss::kNone);
  EXPECT_EQ(s.bytes, VersionBytes("k", "e", size));
}

TEST_F(ShadowStoreTest, ReplaceByNewEtagWhileReadersReadServesEachVersionConsistently) {
  const size_t size = 16 * kTestChunk;
  FillAll("k", "v0", size);
  std::atomic<bool> stop{false};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      ReadContext ctx;
      std::string buf(size, '\0');
      while (!stop.load()) {
        auto r = store_->Read("k", 0, buf, ctx);
        ASSERT_TRUE(r.ok());
        if (r->miss != Miss::kNone) continue;
        // Every byte served belongs to the version the store named.
        ASSERT_EQ(buf.substr(0, r->bytes), VersionBytes("k", r->etag, size)) << r->etag << t;
        ++reads;
      }
    });
  }
  for (int v = 1; v <= 20; ++v) FillAll("k", "v" + std::to_string(v), size);
  while (reads.load() < 50) std::this_thread::yield();
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(store_->Find("k")->etag, "v20");
  // Old files are gone once no reader holds them, and their bytes no longer count.
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 1u);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

TEST_F(ShadowStoreTest, VerifyRefreshesConfidenceAndAMismatchDrops) {
  FillAll("d/k", "e1", 100);
  EXPECT_NEAR(store_->Find("d/k")->confidence, 1.0, 1e-9);
  clock().Advance(24h);
  // The prior: 0.1 changes a day.
  EXPECT_NEAR(store_->Find("d/k")->confidence, std::exp(-0.1), 0.01);
  auto v = store_->Verify("d/k", "e1", clock().Now());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(*v);
  EXPECT_NEAR(store_->Find("d/k")->confidence, 1.0, 1e-9);
  v = store_->Verify("d/k", "e2", clock().Now());
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(*v);
  EXPECT_FALSE(store_->Find("d/k"));
  EXPECT_TRUE(ShadowFiles(options_.dir).empty());
  FillAll("d/gone", "e", 100);
  ASSERT_TRUE(store_->ObserveDeleted("d/gone", clock().Now()).ok());
  EXPECT_FALSE(store_->Find("d/gone"));
}

TEST_F(ShadowStoreTest, LearnsChangeRatesPerKeyFallsBackToPrefixAndPersists) {
  // hot/k changes every hour; cold/k never does; both are checked hourly for a day.
  int version = 0;
  FillAll("hot/k", "v0", 100);
  FillAll("cold/k", "c", 100);
  for (int h = 0; h < 24; ++h) {
    clock().Advance(1h);
    std::string next = "v" + std::to_string(++version);
    ASSERT_FALSE(*store_->Verify("hot/k", next, clock().Now()));
    FillAll("hot/k", next, 100);
    ASSERT_TRUE(*store_->Verify("cold/k", "c", clock().Now()));
  }
  EXPECT_EQ(ReadRange(*store_, "hot/k", 0, 100).read.miss, Miss::kNone);
  clock().Advance(1h);
  auto hot = ReadRange(*store_, "hot/k", 0, 100);
  EXPECT_EQ(hot.read.miss, Miss::kLowConfidence);
  EXPECT_EQ(hot.read.etag, "v24");  // for If-None-Match
  EXPECT_LT(store_->Find("hot/k")->confidence, 0.5);
  EXPECT_EQ(ReadRange(*store_, "cold/k", 0, 100).read.miss, Miss::kNone);
  EXPECT_GT(store_->Find("cold/k")->confidence, 0.99);
  // A key never observed takes its prefix's rate.
  FillAll("hot/new", "n", 100);
  FillAll("cold/new", "n", 100);
  clock().Advance(1h);
  EXPECT_LT(store_->Find("hot/new")->confidence, 0.9);
  EXPECT_GT(store_->Find("cold/new")->confidence, 0.99);
  // A 304 brings a low-confidence shadow back.
  ASSERT_TRUE(*store_->Verify("hot/k", "v24", clock().Now()));
  EXPECT_EQ(ReadRange(*store_, "hot/k", 0, 100).read.miss, Miss::kNone);
  // The statistics survive a restart.
  double hot_before = store_->Confidence("hot/new", clock().Now() - 1h);
  double cold_before = store_->Confidence("cold/k", clock().Now() - 1h);
  Reopen();
  EXPECT_NEAR(store_->Confidence("hot/new", clock().Now() - 1h), hot_before, 1e-9);
  EXPECT_NEAR(store_->Confidence("cold/k", clock().Now() - 1h), cold_before, 1e-9);
  EXPECT_LT(hot_before, 0.9);
}

TEST_F(ShadowStoreTest, MetadataSurvivesReopen) {
  FillOptions fo{.origin = Origin::kManual, .version_id = "ver1", .pin = true};
  FillAll("a", "e", 3 * kTestChunk, fo);
  ASSERT_EQ(ReadRange(*store_, "a", 0, 10).read.miss, Miss::kNone);
  ASSERT_EQ(ReadRange(*store_, "a", 0, 10).read.miss, Miss::kNone);
  Reopen();
  auto info = store_->Find("a");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->etag, "e");
  EXPECT_EQ(info->version_id, "ver1");
  EXPECT_EQ(info->origin, Origin::kManual);
  EXPECT_TRUE(info->pinned);
  EXPECT_EQ(info->hits, 2u);
  EXPECT_TRUE(info->complete());
  EXPECT_EQ(ReadRange(*store_, "a", 0, 3 * kTestChunk).bytes,
            VersionBytes("a", "e", 3 * kTestChunk));
}

TEST_F(ShadowStoreTest, ReadsDoNotWriteTheCatalogSynchronously) {
  FillAll("k", "e", 100);
  uint64_t before = Transactions();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(ReadRange(*store_, "k", 0, 10).read.miss, Miss::kNone);
  ASSERT_TRUE(*store_->Verify("k", "e", clock().Now()));
  EXPECT_EQ(Transactions(), before);
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(Transactions(), before + 1);  // one batch for all of it
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(Transactions(), before + 1);  // nothing dirty: no transaction
}

TEST_F(ShadowStoreTest, EvictsLowValueFirstNeverPinnedAndRefusesWhenAllPinned) {
  options_.capacity_bytes = 10 * kTestChunk;
  Reopen();
  const size_t size = 2 * kTestChunk;  // about 3 blocks each with header and index
  FillAll("pinned", "e", size, {.pin = true});
  FillAll("hot", "e", size);
  for (int i = 0; i < 5; ++i) ReadRange(*store_, "hot", 0, 10);
  FillAll("cold", "e", size);
  FillAll("new", "e", size);  // needs room: the cold one goes
  EXPECT_TRUE(store_->Find("pinned"));
  EXPECT_TRUE(store_->Find("hot"));
  EXPECT_FALSE(store_->Find("cold"));
  EXPECT_TRUE(store_->Find("new"));
  EXPECT_LE(store_->used_bytes(), options_.capacity_bytes);
  EXPECT_EQ(rt_.metrics().GetCounter("shadowfs_shadow_evictions_total", "").value(), 1u);
  // Everything pinned: NoSpace and nothing written.
  ASSERT_TRUE(store_->SetPinned("hot", true).ok());
  ASSERT_TRUE(store_->SetPinned("new", true).ok());
  std::string data = VersionBytes("big", "e", 4 * kTestChunk);
  auto files = ShadowFiles(options_.dir).size();
  base::Status s = store_->Fill("big", "e", data.size(), 0, data, {});
  EXPECT_EQ(s.code(), base::StatusCode::kNoSpace) << s.ToString();
  EXPECT_EQ(ShadowFiles(options_.dir).size(), files);
  EXPECT_FALSE(store_->Find("big"));
  // Bigger than the whole store: NoSpace too.
  std::string huge = VersionBytes("huge", "e", 20 * kTestChunk);
  EXPECT_EQ(store_->Fill("huge", "e", huge.size(), 0, huge, {}).code(), base::StatusCode::kNoSpace);
}

// Reuse probabilities by key (0.3 for any other), as the prediction engine would give them.
class FixedScorer final : public base::ReuseScorer {
 public:
  explicit FixedScorer(std::map<std::string, double> p) : p_(std::move(p)) {}
  double ReuseProbability(std::string_view key, base::WallTime) override {
    auto it = p_.find(std::string(key));
    return it == p_.end() ? 0.3 : it->second;
  }

 private:
  std::map<std::string, double> p_;
};

// A full store is a cache's normal state. A prefetch (FillOptions::probability) may evict only
// shadows worth less per byte than itself: one less likely to be read than everything it would
// evict is refused with NoSpace (counted apart from fills that do not fit) and evicts nothing.
TEST_F(ShadowStoreTest, APrefetchEvictsOnlyShadowsWorthLessThanItself) {
  options_.capacity_bytes = 10 * kTestChunk;
  Reopen();
  FixedScorer scorer({{"likely", 0.9}, {"unlikely", 0.1}, {"p-low", 0.05}, {"p-high", 0.6}});
  store_->SetScorer(&scorer);
  const size_t size = 2 * kTestChunk;
  FillAll("likely", "e", size);
  FillAll("unlikely", "e", size);
  FillAll("other", "e", size);
  auto counter = [&](const char* name) { return rt_.metrics().GetCounter(name, "").value(); };

  std::string low = VersionBytes("p-low", "e", size);
  base::Status s = store_->Fill("p-low", "e", size, 0, low, {.probability = 0.05});
  EXPECT_EQ(s.code(), base::StatusCode::kNoSpace) << s.ToString();
  EXPECT_FALSE(store_->Find("p-low"));
  EXPECT_TRUE(store_->Find("likely") && store_->Find("unlikely") && store_->Find("other"));
  EXPECT_EQ(counter("shadowfs_shadow_prefetches_refused_total"), 1u);
  EXPECT_EQ(counter("shadowfs_shadow_no_space_total"), 0u);
  EXPECT_EQ(counter("shadowfs_shadow_evictions_total"), 0u);

  std::string high = VersionBytes("p-high", "e", size);
  ASSERT_TRUE(store_->Fill("p-high", "e", size, 0, high, {.probability = 0.6}).ok());
  EXPECT_TRUE(store_->Find("p-high"));
  EXPECT_FALSE(store_->Find("unlikely")) << "the least valuable shadow made room";
  EXPECT_TRUE(store_->Find("likely"));
  EXPECT_LE(store_->used_bytes(), options_.capacity_bytes);

  // A demand read's fill still evicts whatever is worth least.
  FillAll("read", "e", size);
  EXPECT_TRUE(store_->Find("read"));
  EXPECT_TRUE(store_->Find("likely"));
  store_->SetScorer(nullptr);
}

TEST_F(ShadowStoreTest, OpenRemovesFilesWithoutRowsRowsWithoutFilesAndTempFiles) {
  FillAll("keep", "e", 100);
  FillAll("lose-file", "e", 100);
  auto before = ShadowFiles(options_.dir);
  ASSERT_EQ(before.size(), 2u);
  store_.reset();
  // (a) a complete shadow file with no row, as after a crash between rename and commit.
  std::string orphan = options_.dir + "/shadows/ab/orphan.shadow";
  std::filesystem::create_directories(options_.dir + "/shadows/ab");
  testing::WriteShadow(orphan, "orphan", "e", "data", testing::Options(Codec::kNone, kTestChunk));
  // (b) a row whose file is gone.
  for (const auto& f : before) {
    if (testing::HeaderOnDisk(f).key == "lose-file") {
      ASSERT_EQ(::unlink(f.c_str()), 0);
    }
  }
  // (c) stale temp files.
  std::string temp = orphan + std::string(ShadowWriter::TempSuffix()) + "abcdef";
  { std::ofstream(temp) << "partial"; }
  { std::ofstream(options_.dir + "/tmp/leftover") << "x"; }
  Reopen();
  EXPECT_TRUE(store_->Find("keep"));
  EXPECT_FALSE(store_->Find("lose-file"));
  EXPECT_FALSE(store_->Find("orphan"));
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(temp));
  EXPECT_FALSE(std::filesystem::exists(options_.dir + "/tmp/leftover"));
  EXPECT_EQ(ReadRange(*store_, "keep", 0, 100).bytes, VersionBytes("keep", "e", 100));
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
  // And the row is gone for good, not just hidden.
  Reopen();
  EXPECT_EQ(store_->List("").size(), 1u);
}

TEST_F(ShadowStoreTest, DamagedCatalogIsCorruptionWithAdvice) {
  store_.reset();
  std::string db = options_.dir + "/catalog.db";
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  { std::ofstream(db, std::ios::trunc) << std::string(8192, 'x'); }
  auto s = ShadowStore::Open(options_, rt_.runtime());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::StatusCode::kCorruption) << s.status().ToString();
  EXPECT_NE(s.status().message().find(db), std::string::npos);
  EXPECT_NE(s.status().message().find("move"), std::string::npos);
}

TEST_F(ShadowStoreTest, MaintenanceRemovesRuntimeOrphansAndScrubFindsDamage) {
  FillAll("a", "e", 4 * kTestChunk);
  FillAll("b", "e", 4 * kTestChunk);
  std::string orphan = options_.dir + "/shadows/zz.shadow";
  { std::ofstream(orphan) << "junk"; }
  auto r = store_->RemoveOrphans();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->orphans_removed, 1u);
  EXPECT_FALSE(std::filesystem::exists(orphan));
  for (const auto& f : ShadowFiles(options_.dir)) {
    if (testing::HeaderOnDisk(f).key == "b") {
      testing::FlipBit(f, testing::EntryOnDisk(f, 2).data_offset, 0);
    }
  }
  auto scrub = store_->Scrub(3 * kTestChunk);  // a bounded slice
  ASSERT_TRUE(scrub.ok());
  EXPECT_EQ(scrub->chunks_scrubbed, 3u);
  uint64_t corrupt = scrub->corrupt_chunks;
  for (int i = 0; i < 3; ++i) {
    scrub = store_->Scrub(3 * kTestChunk);
    ASSERT_TRUE(scrub.ok());
    corrupt += scrub->corrupt_chunks;
  }
  EXPECT_EQ(corrupt, 1u);
  EXPECT_FALSE(store_->Find("b")->complete());
  EXPECT_TRUE(store_->Find("a")->complete());
}

}  // namespace
}  // namespace shadowfs::shadow
