#include "blobstore/shadow/read_context_pool.h"

#include <gtest/gtest.h>

#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using testing::Options;
using testing::TempDir;
using testing::TextBytes;
using testing::WriteShadow;

constexpr uint32_t kChunk = 4096;

// A pool over an 8-chunk shadow, two contexts in it: one that read last in chunk `first`, then
// one that read last in chunk `second` (two requests in flight at once, as the kernel's
// readahead sends them).
class HoldingPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = dir_.File("s");
    WriteShadow(path, "k", "e", TextBytes(8 * kChunk, 1), Options(Codec::kLz4, kChunk));
    auto file = ShadowFile::Open(path, "k", "e");
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    file_ = std::move(*file);
  }
  // Returns the context that holds `first`.
  ReadContext* Fill(uint32_t first, uint32_t second) {
    auto a = Holding(first);
    auto b = Holding(second);
    ReadContext* holding_first = a.get();
    pool_.Return(std::move(a));
    pool_.Return(std::move(b));
    return holding_first;
  }
  // A context that has served a partial read of chunk `chunk`, and so holds it.
  std::unique_ptr<ReadContext> Holding(uint32_t chunk) {
    auto ctx = pool_.Take(uint64_t{chunk} * kChunk);
    char byte = 0;
    auto r = file_->Read(uint64_t{chunk} * kChunk + 10, {&byte, 1}, *ctx);
    EXPECT_TRUE(r.ok() && r->bytes == 1);
    EXPECT_EQ(ctx->cached_chunk(), chunk);
    return ctx;
  }

  TempDir dir_;
  std::unique_ptr<ShadowFile> file_;
  ReadContextPool pool_;
};

TEST_F(HoldingPoolTest, AReadGetsTheContextHoldingItsFirstChunk) {
  ReadContext* holding_2 = Fill(2, 5);
  auto next = pool_.Take(2 * kChunk + 100);
  EXPECT_EQ(next.get(), holding_2);
  EXPECT_EQ(next->cached_chunk(), 2u);
  // No context holds chunk 7: the most recently returned idle one is reused, not a new one.
  auto other = pool_.Take(7 * kChunk);
  EXPECT_EQ(other->cached_chunk(), 5u);
}

// A promoted shadow has smaller chunks than the store's default: the context is found by the
// byte it holds, not by a chunk number computed with another chunk size.
TEST_F(HoldingPoolTest, FindsTheContextByByteWhateverTheChunkSize) {
  ReadContext* holding_6 = Fill(6, 1);
  // Byte 6 * 4096 + 20 is in chunk 1 of a store with 16 KiB chunks, chunk 6 of this file.
  auto next = pool_.Take(6 * kChunk + 20);
  EXPECT_EQ(next.get(), holding_6);
}

TEST(ReadContextPoolTest, KeepsAtMostMaxIdleContexts) {
  ReadContextPool pool(2);
  std::vector<std::unique_ptr<ReadContext>> taken;
  for (int i = 0; i < 3; ++i) taken.push_back(pool.Take(0));
  std::vector<ReadContext*> kept = {taken[0].get(), taken[1].get()};
  for (auto& c : taken) pool.Return(std::move(c));
  auto x = pool.Take(0);
  auto y = pool.Take(0);
  EXPECT_TRUE((x.get() == kept[0] && y.get() == kept[1]) ||
              (x.get() == kept[1] && y.get() == kept[0]));
}

}  // namespace
}  // namespace shadowfs::shadow
