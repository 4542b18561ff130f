#include "blobstore/shadow/codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using testing::RandomBytes;
using testing::TextBytes;

CodecOptions Prefer(Codec c) {
  CodecOptions o;
  o.preferred = c;
  return o;
}

std::string RoundTrip(CodecContext& ctx, Codec codec, const std::string& raw, Codec* used) {
  CompressedChunk c = ctx.Compress(raw, Prefer(codec));
  *used = c.codec;
  std::string stored(c.bytes.begin(), c.bytes.end());
  std::string out(raw.size(), '\0');
  base::Status st = ctx.Decompress(c.codec, stored, out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

TEST(CodecTest, CompressibleChunksUseThePreferredCodecAndRoundTrip) {
  CodecContext ctx;
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    for (size_t n : {size_t{100}, size_t{4096}, size_t{65536}, size_t{1} << 20}) {
      std::string raw = TextBytes(n, static_cast<uint32_t>(n));
      Codec used;
      EXPECT_EQ(RoundTrip(ctx, codec, raw, &used), raw);
      EXPECT_EQ(used, codec) << CodecName(codec) << " " << n;
    }
  }
}

TEST(CodecTest, IncompressibleChunksAreStoredRawWithoutRunningTheCodec) {
  CodecContext ctx;
  std::string raw = RandomBytes(1 << 20, 7);
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    CompressedChunk c = ctx.Compress(raw, Prefer(codec));
    EXPECT_EQ(c.codec, Codec::kNone);
    EXPECT_TRUE(c.skipped_by_sample);
    EXPECT_EQ(c.bytes.data(), raw.data()) << "raw chunks are not copied";
  }
}

TEST(CodecTest, SmallIncompressibleChunksFallBackToRawAfterTrying) {
  CodecContext ctx;
  std::string raw = RandomBytes(4096, 8);  // too small for the sample test
  CompressedChunk c = ctx.Compress(raw, Prefer(Codec::kZstd));
  EXPECT_EQ(c.codec, Codec::kNone);
  EXPECT_FALSE(c.skipped_by_sample);
}

TEST(CodecTest, SkewedBytesThatLz4CannotShrinkStillGoToZstd) {
  // Random bytes drawn from 16 symbols: no repeats for LZ4 to find, but 4 bits of entropy per
  // byte that zstd's entropy stage halves.
  std::mt19937 rng(3);
  std::string raw(1 << 20, '\0');
  for (char& c : raw) c = static_cast<char>('a' + rng() % 16);
  CodecContext ctx;
  Codec used;
  EXPECT_EQ(RoundTrip(ctx, Codec::kZstd, raw, &used), raw);
  EXPECT_EQ(used, Codec::kZstd);
  CompressedChunk c = ctx.Compress(raw, Prefer(Codec::kZstd));
  EXPECT_LT(c.bytes.size(), raw.size() * 6 / 10);
}

TEST(CodecTest, BarelyCompressibleChunksAreStoredRaw) {
  // 98% random, 2% zeros: compresses by about 2%, under the 3% bar.
  std::string raw = RandomBytes(1 << 16, 9);
  for (size_t i = 0; i < raw.size(); i += 50) raw[i] = 0;
  CodecOptions o = Prefer(Codec::kZstd);
  o.sample_min_saving = 0;  // force the full codec to run
  CodecContext ctx;
  EXPECT_EQ(ctx.Compress(raw, o).codec, Codec::kNone);
}

TEST(CodecTest, NonePreferredNeverCompresses) {
  CodecContext ctx;
  std::string raw(1 << 16, 'x');
  EXPECT_EQ(ctx.Compress(raw, Prefer(Codec::kNone)).codec, Codec::kNone);
}

TEST(CodecTest, ZstdLevelsAllRoundTrip) {
  CodecContext ctx;
  std::string raw = TextBytes(300000, 1);
  for (int level : {1, 3, 9}) {
    CodecOptions o = Prefer(Codec::kZstd);
    o.zstd_level = level;
    CompressedChunk c = ctx.Compress(raw, o);
    ASSERT_EQ(c.codec, Codec::kZstd);
    std::string stored(c.bytes.begin(), c.bytes.end());
    std::string out(raw.size(), '\0');
    ASSERT_TRUE(ctx.Decompress(Codec::kZstd, stored, out).ok());
    EXPECT_EQ(out, raw);
  }
}

std::string Compressed(CodecContext& ctx, Codec codec, const std::string& raw) {
  CompressedChunk c = ctx.Compress(raw, Prefer(codec));
  EXPECT_EQ(c.codec, codec);
  return std::string(c.bytes.begin(), c.bytes.end());
}

TEST(CodecTest, MalformedInputIsCorruption) {
  CodecContext ctx;
  std::string raw = TextBytes(65536, 2);
  std::string out(raw.size(), '\0');
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    SCOPED_TRACE(std::string(CodecName(codec)));
    std::string good = Compressed(ctx, codec, raw);
    // Truncated at several points.
    for (size_t keep : {size_t{0}, size_t{1}, good.size() / 2, good.size() - 1}) {
      auto st = ctx.Decompress(codec, std::string_view(good).substr(0, keep), out);
      EXPECT_EQ(st.code(), base::StatusCode::kCorruption) << keep << " " << st.ToString();
    }
    // Garbage.
    EXPECT_EQ(ctx.Decompress(codec, RandomBytes(5000, 4), out).code(),
              base::StatusCode::kCorruption);
    // A valid stream whose size is not the chunk's.
    std::string bigger(raw.size() + 1, '\0');
    std::string smaller(raw.size() - 1, '\0');
    EXPECT_EQ(ctx.Decompress(codec, good, bigger).code(), base::StatusCode::kCorruption);
    EXPECT_EQ(ctx.Decompress(codec, good, smaller).code(), base::StatusCode::kCorruption);
    // The context still works afterwards.
    ASSERT_TRUE(ctx.Decompress(codec, good, out).ok());
    EXPECT_EQ(out, raw);
  }
  EXPECT_EQ(ctx.Decompress(Codec::kNone, "abc", out).code(), base::StatusCode::kCorruption);
  EXPECT_EQ(ctx.Decompress(static_cast<Codec>(7), "abc", out).code(),
            base::StatusCode::kCorruption);
}

// Every single-bit flip of a compressed chunk decodes to Corruption or to some bytes of the right
// size, never past the buffer (run under ASan to see overruns). Whether a flip changed the
// content is the raw checksum's job, tested in shadow_corruption_test.
TEST(CodecTest, BitFlippedStreamsNeverOverrun) {
  CodecContext ctx;
  std::string raw = TextBytes(8192, 5);
  for (Codec codec : {Codec::kLz4, Codec::kZstd}) {
    std::string good = Compressed(ctx, codec, raw);
    int corrupt = 0;
    for (size_t bit = 0; bit < good.size() * 8; ++bit) {
      std::string bad = good;
      bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
      std::vector<char> out(raw.size());
      auto st = ctx.Decompress(codec, bad, out);
      if (!st.ok()) {
        EXPECT_EQ(st.code(), base::StatusCode::kCorruption);
        ++corrupt;
      }
    }
    EXPECT_GT(corrupt, 0) << CodecName(codec);
  }
}

TEST(CodecTest, KnownCodecs) {
  EXPECT_TRUE(IsKnownCodec(0));
  EXPECT_TRUE(IsKnownCodec(2));
  EXPECT_FALSE(IsKnownCodec(3));
  EXPECT_EQ(CodecName(Codec::kLz4), "lz4");
}

}  // namespace
}  // namespace shadowfs::shadow
