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

// A context that has served a partial read of chunk `chunk` of `file`, and so holds it.
std::unique_ptr<ReadContext> HoldingChunk(ReadContextPool& pool, const ShadowFile& file,
                                          uint32_t chunk) {
  auto ctx = pool.Take(chunk);
  char byte = 0;
  auto r = file.Read(uint64_t{chunk} * kChunk + 10, {&byte, 1}, *ctx);
  EXPECT_TRUE(r.ok() && r->bytes == 1);
  EXPECT_EQ(ctx->cached_chunk(), chunk);
  return ctx;
}

TEST(ReadContextPoolTest, AReadGetsTheContextHoldingItsFirstChunk) {
  TempDir dir;
  std::string path = dir.File("s");
  WriteShadow(path, "k", "e", TextBytes(8 * kChunk, 1), Options(Codec::kLz4, kChunk));
  auto file = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(file.ok()) << file.status().ToString();

  ReadContextPool pool;
  // Two requests in flight at once, as the kernel's readahead sends them; the one that ended in
  // chunk 2 returns its context first.
  auto a = HoldingChunk(pool, **file, 2);
  auto b = HoldingChunk(pool, **file, 5);
  ReadContext* holding_2 = a.get();
  pool.Return(std::move(a));
  pool.Return(std::move(b));

  auto next = pool.Take(2);
  EXPECT_EQ(next.get(), holding_2);
  EXPECT_EQ(next->cached_chunk(), 2u);
  // No context holds chunk 7: the most recently returned idle one is reused, not a new one.
  auto other = pool.Take(7);
  EXPECT_EQ(other->cached_chunk(), 5u);
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
