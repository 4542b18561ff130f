// Readers, appenders and droppers on one ShadowFile at once. Meaningful under TSan too
// (SHADOWFS_SANITIZE=thread).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "blobstore/shadow/shadow_file.h"
#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using testing::Options;
using testing::TempDir;
using testing::TextBytes;
using testing::WriteShadow;

constexpr uint32_t kChunk = 16384;
constexpr uint32_t kChunks = 64;

TEST(ShadowConcurrencyTest, ReadersSeeAbsentOrCorrectBytesWhileAppendersFillTheShadow) {
  TempDir dir;
  std::string path = dir.File("c");
  std::string data = TextBytes(uint64_t{kChunk} * kChunks, 1);
  WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kChunk), [](uint32_t) { return false; });
  auto opened = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(opened.ok());
  ShadowFile& f = **opened;

  std::atomic<bool> done{false};
  std::atomic<int> bad{0}, served{0};
  auto reader = [&](uint32_t seed) {
    ReadContext ctx;
    std::vector<char> buf(kChunk);
    uint32_t i = seed;
    while (!done.load()) {
      i = (i * 7 + 3) % kChunks;
      base::Status st = f.ReadChunk(i, buf, ctx);
      if (st.ok()) {
        ++served;
        if (std::string_view(buf.data(), kChunk) !=
            std::string_view(data).substr(i * kChunk, kChunk)) {
          ++bad;
        }
      } else if (!st.IsNotFound()) {
        ++bad;
      }
    }
  };
  // Two appenders race over every chunk: each chunk ends up written exactly once.
  std::atomic<int> appended{0}, already{0}, failed{0};
  auto appender = [&](bool reverse) {
    CodecContext ctx;
    CodecOptions o;
    for (uint32_t n = 0; n < kChunks; ++n) {
      uint32_t i = reverse ? kChunks - 1 - n : n;
      base::Status st = f.AppendChunk(i, std::string_view(data).substr(i * kChunk, kChunk), o, ctx);
      if (st.ok()) {
        ++appended;
      } else if (st.code() == base::StatusCode::kAlreadyExists) {
        ++already;
      } else {
        ++failed;
      }
    }
  };
  std::vector<std::thread> readers;
  for (uint32_t s = 0; s < 2; ++s) readers.emplace_back(reader, s);
  std::thread a1(appender, false), a2(appender, true);
  a1.join();
  a2.join();
  done = true;
  for (auto& t : readers) t.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(appended.load(), static_cast<int>(kChunks));
  EXPECT_EQ(already.load(), static_cast<int>(kChunks));
  EXPECT_TRUE(f.complete());
  auto reopened = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(reopened.ok());
  ReadContext ctx;
  EXPECT_EQ(testing::ReadWhole(**reopened, ctx), data);
  EXPECT_EQ((*reopened)->stats().file_size, testing::FileSize(path));
}

TEST(ShadowConcurrencyTest, DropsAndReappendsRaceWithReaders) {
  TempDir dir;
  std::string path = dir.File("d");
  std::string data = TextBytes(uint64_t{kChunk} * 8, 2);
  WriteShadow(path, "k", "e", data, Options(Codec::kLz4, kChunk));
  auto opened = ShadowFile::Open(path, "k", "e");
  ASSERT_TRUE(opened.ok());
  ShadowFile& f = **opened;
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    ReadContext ctx;
    std::string out(data.size(), '\0');
    while (!done.load()) {
      auto r = f.Read(0, out, ctx);
      if (!r.ok() || r->stop == RangeRead::Stop::kCorrupt ||
          out.substr(0, r->bytes) != data.substr(0, r->bytes)) {
        ++bad;
      }
    }
  });
  CodecContext ctx;
  for (int round = 0; round < 50; ++round) {
    uint32_t i = static_cast<uint32_t>(round % 8);
    ASSERT_TRUE(f.DropChunk(i).ok());
    ASSERT_TRUE(f.AppendChunk(i, std::string_view(data).substr(i * kChunk, kChunk), {}, ctx).ok());
  }
  done = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_TRUE(f.complete());
}

}  // namespace
}  // namespace shadowfs::shadow
