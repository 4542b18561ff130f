// ShadowStore promotion: hot shadows are rewritten with raw chunks in the background, within the
// cap, durably, and without copying damage.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "blobstore/base/runtime.h"
#include "blobstore/shadow/shadow_store.h"
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

constexpr int kRaw = static_cast<int>(Codec::kNone);
constexpr int kLz4 = static_cast<int>(Codec::kLz4);

class ShadowPromoteTest : public ::testing::Test {
 protected:
  ShadowPromoteTest() : options_(StoreOptions(dir_.path() + "/store")) {
    options_.promote_after_passes = 0;  // tests promote explicitly unless they say otherwise
    Reopen();
  }

  void Reopen() {
    store_.reset();
    store_ = OpenStore(options_, rt_.runtime());
    ASSERT_NE(store_, nullptr);
  }
  // Compressible bytes: every chunk is stored lz4 (the store's default codec).
  std::string FillText(const std::string& key, size_t size, uint32_t seed = 1) {
    std::string data = testing::TextBytes(size, seed);
    EXPECT_TRUE(store_->Fill(key, "e", size, 0, data, {}).ok());
    auto info = store_->Find(key);
    EXPECT_TRUE(info && info->chunks_by_codec[kLz4] == info->chunk_count);
    return data;
  }
  std::string FillRandom(const std::string& key, size_t size) {
    std::string data = testing::RandomBytes(size, 7);
    EXPECT_TRUE(store_->Fill(key, "e", size, 0, data, {}).ok());
    return data;
  }
  bool AllRaw(const std::string& key) {
    auto info = store_->Find(key);
    return info && info->chunks_by_codec[kRaw] == info->chunks_present &&
           info->chunks_by_codec[kLz4] == 0;
  }
  uint64_t Counter(const std::string& name) { return rt_.metrics().GetCounter(name, "").value(); }
  uint64_t Charge(const std::string& key) {
    // What the store charges a shadow: its file's allocated blocks (one file per key here).
    for (const auto& f : ShadowFiles(options_.dir)) {
      if (testing::HeaderOnDisk(f).key == key) {
        struct stat st;
        EXPECT_EQ(::stat(f.c_str(), &st), 0);
        return static_cast<uint64_t>(st.st_blocks) * 512;
      }
    }
    ADD_FAILURE() << "no file for " << key;
    return 0;
  }
  // The bytes a promotion of a complete shadow reserves (shadow_store_promote.cc).
  static uint64_t RawReserve(const std::string& key, size_t size) {
    uint64_t chunks = (size + kTestChunk - 1) / kTestChunk;
    uint64_t n = format::HeaderSizeFor(key.size(), 1) + format::kEntrySize * chunks + size;
    return (n + 4095) / 4096 * 4096 + 4096;
  }

  TempDir dir_;
  base::OwnedRuntime rt_;
  ShadowStoreOptions options_;
  std::unique_ptr<ShadowStore> store_;
};

TEST_F(ShadowPromoteTest, HotShadowBecomesRawInTheBackgroundWhileReadersGetTheRightBytes) {
  options_.promote_after_passes = 2;
  Reopen();
  const size_t size = 64 * kTestChunk + 100;
  const std::string data = FillText("hot", size);
  const uint64_t compressed = store_->Find("hot")->bytes_stored;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> good{0}, bad{0};
  std::vector<std::thread> readers;
  readers.reserve(3);
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937 rng(t);
      ReadContext ctx;
      std::string buf(3 * kTestChunk, '\0');
      while (!stop.load()) {
        uint64_t off = rng() % size;
        auto r = store_->Read("hot", off, buf, ctx);
        if (r.ok() && r->miss == Miss::kNone &&
            std::string_view(buf).substr(0, r->bytes) ==
                std::string_view(data).substr(off, r->bytes)) {
          ++good;
        } else {
          ++bad;
        }
      }
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!AllRaw("hot") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);  // polling interval, not a wait for the condition
  }
  // Keep reading across the swap and after it.
  uint64_t after = good.load() + 1000;
  while (good.load() + bad.load() < after && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop = true;
  for (auto& t : readers) t.join();
  ASSERT_TRUE(AllRaw("hot"));
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(good.load(), 0u);
  auto info = store_->Find("hot");
  EXPECT_EQ(info->chunks_present, info->chunk_count);
  EXPECT_GT(info->bytes_stored, compressed);
  EXPECT_EQ(ReadRange(*store_, "hot", 0, size).bytes, data);
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 1u);
  EXPECT_EQ(Counter("shadowfs_shadow_promoted_bytes_total"), info->bytes_stored);
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 1u);  // the old file went with its last reader
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

TEST_F(ShadowPromoteTest, PromotionEvictsOnlyColderShadowsAndStaysWithinTheCap) {
  options_.capacity_bytes = 64ull << 20;
  Reopen();
  const size_t size = 64 * kTestChunk;
  FillRandom("cold", 16 * kTestChunk);  // never read, and a month old by the time it matters
  rt_.fake_clock()->Advance(24h * 30);
  const std::string data = FillText("target", size);
  FillRandom("hot", 32 * kTestChunk);
  for (int i = 0; i < 20; ++i) ASSERT_EQ(ReadRange(*store_, "hot", 0, 10).read.miss, Miss::kNone);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ReadRange(*store_, "target", 0, 10).read.miss, Miss::kNone);
  const uint64_t used = store_->used_bytes();
  const uint64_t cold = Charge("cold");
  const uint64_t hot = Charge("hot");
  const uint64_t reserve = RawReserve("target", size);

  // Room only if the hotter shadow went too: refused, nothing evicted, still compressed.
  options_.capacity_bytes = used + reserve - cold - hot / 2;
  Reopen();
  base::Status s = store_->Promote("target");
  EXPECT_EQ(s.code(), base::StatusCode::kNoSpace) << s.ToString();
  EXPECT_TRUE(store_->Find("cold"));
  EXPECT_TRUE(store_->Find("hot"));
  EXPECT_EQ(store_->Find("target")->chunks_by_codec[kLz4], 64u);
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_refused_total"), 1u);
  EXPECT_EQ(Counter("shadowfs_shadow_evictions_total"), 0u);
  EXPECT_EQ(Counter("shadowfs_shadow_no_space_total"), 0u);  // not a refused fill
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 3u);
  EXPECT_EQ(store_->used_bytes(), used);

  // Room once the colder one goes: promoted, the hot one kept, the cap held.
  options_.capacity_bytes = used + reserve - cold / 2;
  Reopen();
  ASSERT_TRUE(store_->Promote("target").ok());
  EXPECT_TRUE(AllRaw("target"));
  EXPECT_FALSE(store_->Find("cold"));
  EXPECT_TRUE(store_->Find("hot"));
  EXPECT_EQ(Counter("shadowfs_shadow_evictions_total"), 1u);
  EXPECT_LE(store_->used_bytes(), options_.capacity_bytes);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
  EXPECT_EQ(ReadRange(*store_, "target", 0, size).bytes, data);
}

TEST_F(ShadowPromoteTest, PromotionSurvivesReopen) {
  const size_t size = 40 * kTestChunk + 3000;  // a short last chunk
  const std::string data = FillText("k", size);
  ASSERT_TRUE(store_->Promote("k").ok());
  ASSERT_TRUE(AllRaw("k"));
  ASSERT_TRUE(store_->Promote("k").ok());  // nothing left to do
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 1u);
  const ShadowInfo before = *store_->Find("k");
  Reopen();
  auto info = store_->Find("k");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunks_by_codec, before.chunks_by_codec);
  EXPECT_EQ(info->bytes_stored, before.bytes_stored);
  EXPECT_EQ(info->etag, "e");
  EXPECT_TRUE(info->complete());
  EXPECT_EQ(ReadRange(*store_, "k", 0, size).bytes, data);
  EXPECT_EQ(ShadowFiles(options_.dir).size(), 1u);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
  EXPECT_EQ(store_->Promote("missing").code(), base::StatusCode::kNotFound);
}

TEST_F(ShadowPromoteTest, ANewFileWithoutItsRowIsAnOrphanAndTheOldShadowServes) {
  // The state a crash leaves between the new file's rename and the catalog update.
  const size_t size = 16 * kTestChunk;
  const std::string data = FillText("k", size);
  const ShadowInfo before = *store_->Find("k");
  store_.reset();
  const std::string old_file = ShadowFiles(options_.dir).at(0);
  const std::string new_file = old_file.substr(0, old_file.rfind('/')) + "/promoted.shadow";
  testing::WriteShadow(new_file, "k", "e", data, testing::Options(Codec::kNone, kTestChunk));
  Reopen();
  auto info = store_->Find("k");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunks_by_codec, before.chunks_by_codec);
  EXPECT_EQ(ShadowFiles(options_.dir), std::vector<std::string>{old_file});
  EXPECT_EQ(ReadRange(*store_, "k", 0, size).bytes, data);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

TEST_F(ShadowPromoteTest, KilledDuringPromotionTheStoreReopensConsistent) {
  const size_t size = 64 * kTestChunk;
  const std::string data = FillText("k", size);
  std::mt19937 rng(7);
  int saw_raw = 0, saw_lz4 = 0;
  for (int iter = 0; iter < 25; ++iter) {
    store_.reset();  // no store threads in the parent across the fork
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = ShadowStore::Open(options_, rt_.runtime());
      if (s.ok()) (void)(*s)->Promote("k");
      ::_exit(0);  // no destructors, like a crash
    }
    // The delay picks the crash point; it is not a wait for a condition.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 6000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    Reopen();
    auto info = store_->Find("k");
    ASSERT_TRUE(info) << iter;
    ASSERT_TRUE(info->complete()) << iter;
    bool raw = info->chunks_by_codec[kRaw] == info->chunk_count;
    ASSERT_TRUE(raw || info->chunks_by_codec[kLz4] == info->chunk_count) << iter;
    ASSERT_EQ(ReadRange(*store_, "k", 0, size).bytes, data) << iter;
    ASSERT_EQ(ShadowFiles(options_.dir).size(), 1u) << iter;
    ASSERT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir)) << iter;
    if (raw) {
      ++saw_raw;
      ASSERT_TRUE(store_->Drop("k").ok());
      FillText("k", size);
    } else {
      ++saw_lz4;
    }
  }
  std::printf("killed promotions: %d left the new raw shadow, %d the old lz4 one\n", saw_raw,
              saw_lz4);
}

// A hot shadow's chunks are split to promoted_chunk_size: a partial shadow keeps exactly what it
// had (an old chunk's absence is its parts' absence) and a short last chunk stays short.
TEST_F(ShadowPromoteTest, PromotionSplitsLargeChunksAndKeepsWhatIsMissing) {
  constexpr uint32_t kBig = 4 * kTestChunk;
  options_.chunk_size = kBig;
  options_.promoted_chunk_size = kTestChunk;
  Reopen();
  const size_t size = 10 * kBig + 5000;  // the last old chunk: one whole new chunk and 904 bytes
  const std::string text = testing::TextBytes(size, 3);
  ASSERT_TRUE(store_->Fill("t", "e", size, 0, std::string_view(text).substr(0, 3 * kBig), {}).ok());
  ASSERT_TRUE(
      store_->Fill("t", "e", size, 9 * kBig, std::string_view(text).substr(9 * kBig), {}).ok());
  ASSERT_EQ(store_->Find("t")->chunks_present, 5u);
  ASSERT_TRUE(store_->Promote("t").ok());
  auto info = store_->Find("t");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunk_size, kTestChunk);
  EXPECT_EQ(info->chunk_count, 42u);
  EXPECT_EQ(info->chunks_present, 3u * 4 + 4 + 2);
  EXPECT_TRUE(AllRaw("t"));
  EXPECT_EQ(ReadRange(*store_, "t", 0, 3 * kBig).bytes, text.substr(0, 3 * kBig));
  EXPECT_EQ(ReadRange(*store_, "t", 9 * kBig, size).bytes, text.substr(9 * kBig));
  auto gap = ReadRange(*store_, "t", 3 * kBig - 10, 20);
  EXPECT_EQ(gap.read.miss, Miss::kPartial);
  EXPECT_EQ(gap.read.first_missing_chunk, 12u);
  ASSERT_TRUE(store_->Promote("t").ok());  // already in its hot form
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 1u);

  // Incompressible: raw from the start, in 16 KiB chunks. A rewrite only to split them is not
  // worth its I/O: promotion leaves it as it is.
  const std::string random = FillRandom("r", 8 * kBig);
  ASSERT_TRUE(AllRaw("r"));
  ASSERT_TRUE(store_->Promote("r").ok());
  EXPECT_EQ(store_->Find("r")->chunk_size, kBig);
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 1u);

  // A blob that fits one chunk of the promoted size keeps its chunk size (one chunk either way).
  const std::string small = FillText("s", kTestChunk);
  ASSERT_TRUE(store_->Promote("s").ok());
  EXPECT_TRUE(AllRaw("s"));
  EXPECT_EQ(store_->Find("s")->chunk_size, kBig);
  EXPECT_EQ(ReadRange(*store_, "s", 0, kTestChunk).bytes, small);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

// A shadow first filled past offset 0 has small (ranged) chunks; once complete and hot, its
// promotion merges them into promoted_chunk_size chunks, raw, whatever they were stored as. A
// partial one keeps its chunk size: a merged chunk could only hold what all its parts hold.
TEST_F(ShadowPromoteTest, PromotionMergesTheSmallChunksOfACompleteShadow) {
  options_.chunk_size = 4 * kTestChunk;
  options_.promoted_chunk_size = 2 * kTestChunk;
  options_.ranged_chunk_size = kTestChunk;
  Reopen();
  const size_t size = 9 * kTestChunk + 100;
  for (const bool text : {true, false}) {
    const std::string key = text ? "text" : "random";
    const std::string data = text ? testing::TextBytes(size, 5) : testing::RandomBytes(size, 5);
    ASSERT_TRUE(
        store_->Fill(key, "e", size, kTestChunk, std::string_view(data).substr(kTestChunk), {})
            .ok());
    ASSERT_TRUE(
        store_->Fill(key, "e", size, 0, std::string_view(data).substr(0, kTestChunk), {}).ok());
    ASSERT_EQ(store_->Find(key)->chunk_size, kTestChunk);
    ASSERT_TRUE(store_->Promote(key).ok());
    auto info = store_->Find(key);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->chunk_size, 2 * kTestChunk) << key;
    EXPECT_EQ(info->chunk_count, 5u) << key;
    EXPECT_TRUE(info->complete()) << key;
    EXPECT_TRUE(AllRaw(key)) << key;
    EXPECT_EQ(ReadRange(*store_, key, 0, size).bytes, data) << key;
    EXPECT_EQ(ReadRange(*store_, key, kTestChunk + 7, 3 * kTestChunk).bytes,
              data.substr(kTestChunk + 7, 3 * kTestChunk));
  }
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 2u);

  // Partial: rewritten raw in its own chunk size, the missing chunk still missing.
  const std::string text = testing::TextBytes(size, 6);
  ASSERT_TRUE(
      store_->Fill("p", "e", size, kTestChunk, std::string_view(text).substr(kTestChunk), {}).ok());
  ASSERT_TRUE(store_->Promote("p").ok());
  auto info = store_->Find("p");
  EXPECT_EQ(info->chunk_size, kTestChunk);
  EXPECT_EQ(info->chunks_present, 9u);
  EXPECT_TRUE(AllRaw("p"));
  EXPECT_EQ(ReadRange(*store_, "p", kTestChunk, size).bytes, text.substr(kTestChunk));
  EXPECT_EQ(ReadRange(*store_, "p", 0, 10).read.miss, Miss::kPartial);
  ASSERT_TRUE(store_->Promote("p").ok());  // raw and partial: nothing to do
  EXPECT_EQ(Counter("shadowfs_shadow_promotions_total"), 3u);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

// An incompressible blob is stored raw whatever its chunk size, so its shadow gets the promoted
// (smaller) chunk size when it is created, judged by its first chunk; compressible data, a fill
// that starts elsewhere than at 0, and a blob within one promoted chunk keep the store's.
TEST_F(ShadowPromoteTest, AnIncompressibleBlobIsStoredInPromotedChunksFromTheStart) {
  constexpr uint32_t kBig = 256 << 10;  // large enough for the codec's sample test
  constexpr uint32_t kSmall = 64 << 10;
  options_.chunk_size = kBig;
  options_.promoted_chunk_size = kSmall;
  Reopen();
  const size_t size = 4 * kBig + 1000;
  const std::string random = FillRandom("r", size);
  auto info = store_->Find("r");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->chunk_size, kSmall);
  EXPECT_EQ(info->chunk_count, 17u);
  EXPECT_TRUE(AllRaw("r"));
  EXPECT_EQ(ReadRange(*store_, "r", 0, size).bytes, random);
  EXPECT_EQ(ReadRange(*store_, "r", kSmall + 7, 100).bytes, random.substr(kSmall + 7, 100));

  FillText("t", size);
  EXPECT_EQ(store_->Find("t")->chunk_size, kBig);

  // A fill from the second chunk on (a ranged read-through) cannot judge the first, and gets
  // the ranged chunk size whatever the data.
  options_.ranged_chunk_size = 128 << 10;
  Reopen();
  const std::string later = testing::RandomBytes(size, 9);
  ASSERT_TRUE(store_->Fill("l", "e", size, kBig, std::string_view(later).substr(kBig), {}).ok());
  EXPECT_EQ(store_->Find("l")->chunk_size, 128u << 10);
  // The rest of it, filled later, goes into the chunks it has.
  ASSERT_TRUE(store_->Fill("l", "e", size, 0, std::string_view(later).substr(0, kBig), {}).ok());
  EXPECT_EQ(store_->Find("l")->chunks_present, 9u);
  EXPECT_EQ(ReadRange(*store_, "l", 0, size).bytes, later);

  const std::string small = testing::RandomBytes(kSmall, 11);
  ASSERT_TRUE(store_->Fill("s", "e", kSmall, 0, small, {}).ok());
  EXPECT_EQ(store_->Find("s")->chunk_size, kBig);
  EXPECT_EQ(store_->used_bytes(), testing::DiskUsage(options_.dir));
}

TEST_F(ShadowPromoteTest, ACorruptChunkFoundWhilePromotingIsDroppedNotCopied) {
  const size_t size = 16 * kTestChunk;
  const std::string data = FillText("k", size);
  const std::string old_file = ShadowFiles(options_.dir).at(0);
  testing::FlipBit(old_file, testing::EntryOnDisk(old_file, 5).data_offset + 3, 2);
  ASSERT_TRUE(store_->Promote("k").ok());
  auto info = store_->Find("k");
  EXPECT_EQ(info->chunks_present, 15u);
  EXPECT_EQ(info->chunks_by_codec[kRaw], 15u);
  EXPECT_EQ(Counter("shadowfs_shadow_corrupt_chunks_total"), 1u);
  auto files = ShadowFiles(options_.dir);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files[0], old_file);
  EXPECT_FALSE(testing::EntryOnDisk(files[0], 5).present());
  auto s = ReadRange(*store_, "k", 0, size);
  EXPECT_EQ(s.read.miss, Miss::kPartial);
  EXPECT_EQ(s.read.first_missing_chunk, 5u);
  EXPECT_EQ(ReadRange(*store_, "k", 0, 5 * kTestChunk).bytes, data.substr(0, 5 * kTestChunk));
  EXPECT_EQ(ReadRange(*store_, "k", 6 * kTestChunk, 10 * kTestChunk).bytes,
            data.substr(6 * kTestChunk));
  // The next fill repairs it.
  ASSERT_TRUE(store_->Fill("k", "e", size, 0, data, {}).ok());
  EXPECT_EQ(ReadRange(*store_, "k", 0, size).bytes, data);
}

}  // namespace
}  // namespace shadowfs::shadow
