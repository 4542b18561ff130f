// Round trips, partial shadows, appends and drops. Damage and crashes: shadow_corruption_test.cc.
#include "blobstore/shadow/shadow_file.h"

#include <gtest/gtest.h>

#include <random>
#include <tuple>

#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using testing::Options;
using testing::RandomBytes;
using testing::ReadWhole;
using testing::TempDir;
using testing::TextBytes;
using testing::WriteShadow;
using Stop = RangeRead::Stop;

constexpr uint32_t kChunk = 4096;

std::unique_ptr<ShadowFile> MustOpen(const std::string& path, const std::string& key = "k",
                                     const std::string& etag = "e") {
  auto f = ShadowFile::Open(path, key, etag);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return f.ok() ? std::move(*f) : nullptr;
}

class RoundTripTest : public ::testing::TestWithParam<std::tuple<Codec, uint64_t>> {};

TEST_P(RoundTripTest, EverySizeAndCodecReadsBackExactly) {
  auto [codec, size] = GetParam();
  TempDir dir;
  std::string path = dir.File("s");
  std::string data = TextBytes(size, static_cast<uint32_t>(size));
  WriteShadow(path, "k", "e", data, Options(codec, kChunk));
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->object_size(), size);
  EXPECT_EQ(f->chunk_count(), (size + kChunk - 1) / kChunk);
  EXPECT_TRUE(f->complete());
  ReadContext ctx;
  EXPECT_EQ(ReadWhole(*f, ctx), data);
  // Chunk by chunk through ReadChunk, into an oversized buffer.
  std::string got;
  std::vector<char> buf(kChunk + 10);
  for (uint32_t i = 0; i < f->chunk_count(); ++i) {
    ASSERT_TRUE(f->ReadChunk(i, buf, ctx).ok());
    got.append(buf.data(), f->chunk_length(i));
  }
  EXPECT_EQ(got, data);
  ShadowStats s = f->stats();
  EXPECT_EQ(s.present_chunks, f->chunk_count());
  EXPECT_EQ(s.present_raw_bytes, size);
  EXPECT_EQ(s.file_size, testing::FileSize(path));
  EXPECT_EQ(s.live_bytes, s.file_size);
  // Text compresses, so every full-size chunk uses the preferred codec.
  if (codec != Codec::kNone && size >= kChunk) {
    EXPECT_GE(s.chunks_by_codec[static_cast<size_t>(codec)], size / kChunk);
    EXPECT_LT(s.file_size, size);
  }
  if (codec == Codec::kNone) {
    EXPECT_EQ(s.chunks_by_codec[0], f->chunk_count());
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, RoundTripTest,
                         ::testing::Combine(::testing::Values(Codec::kNone, Codec::kLz4,
                                                              Codec::kZstd),
                                            ::testing::Values(0, 1, kChunk - 1, kChunk, kChunk + 1,
                                                              3 * kChunk, 3 * kChunk + 17)),
                         [](const auto& info) {
                           return std::string(CodecName(std::get<0>(info.param))) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

TEST(ShadowFileTest, MixedChunksOfAFewMiB) {
  TempDir dir;
  std::string path = dir.File("mixed");
  constexpr uint32_t kBig = 256 * 1024;
  std::string data;
  for (int i = 0; i < 16; ++i) {
    data += i % 2 == 0 ? TextBytes(kBig, i) : RandomBytes(kBig, i);
  }
  data += TextBytes(1000, 99);  // a short tail chunk
  WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kBig));
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  ShadowStats s = f->stats();
  EXPECT_EQ(s.chunks_by_codec[static_cast<size_t>(Codec::kZstd)], 9u);
  EXPECT_EQ(s.chunks_by_codec[static_cast<size_t>(Codec::kNone)], 8u);
  ReadContext ctx;
  EXPECT_EQ(ReadWhole(*f, ctx), data);
  // Random ranges, including ones that span chunks and end at the blob's end.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 200; ++i) {
    uint64_t off = rng() % data.size();
    size_t len = rng() % (3 * kBig);
    std::string out(len, '\0');
    auto r = f->Read(off, out, ctx);
    ASSERT_TRUE(r.ok());
    size_t expect = std::min<uint64_t>(len, data.size() - off);
    ASSERT_EQ(r->bytes, expect);
    EXPECT_EQ(r->stop, expect < len ? Stop::kEndOfObject : Stop::kComplete);
    ASSERT_EQ(out.substr(0, expect), data.substr(off, expect)) << off << "+" << len;
  }
}

TEST(ShadowFileTest, SequentialSmallReadsUseTheCachedChunk) {
  TempDir dir;
  std::string path = dir.File("seq");
  std::string data = TextBytes(10 * kChunk + 5, 3);
  WriteShadow(path, "k", "e", data, Options(Codec::kLz4, kChunk));
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  ReadContext ctx;
  std::string got;
  for (uint64_t off = 0; off < data.size(); off += 1000) {
    std::string out(1000, '\0');
    auto r = f->Read(off, out, ctx);
    ASSERT_TRUE(r.ok());
    got.append(out.data(), r->bytes);
  }
  EXPECT_EQ(got, data);
}

TEST(ShadowFileTest, OneReadContextAcrossDifferentShadowsNeverMixesThemUp) {
  TempDir dir;
  std::string a = TextBytes(4 * kChunk, 1), b = TextBytes(4 * kChunk, 2);
  WriteShadow(dir.File("a"), "k", "e1", a, Options(Codec::kZstd, kChunk));
  WriteShadow(dir.File("b"), "k", "e2", b, Options(Codec::kZstd, kChunk));
  auto fa = MustOpen(dir.File("a"), "k", "e1");
  auto fb = MustOpen(dir.File("b"), "k", "e2");
  ASSERT_TRUE(fa && fb);
  ReadContext ctx;
  for (uint64_t off : {10, 100, 5000}) {
    std::string oa(100, '\0'), ob(100, '\0');
    ASSERT_TRUE(fa->Read(off, oa, ctx).ok());
    ASSERT_TRUE(fb->Read(off, ob, ctx).ok());
    EXPECT_EQ(oa, a.substr(off, 100));
    EXPECT_EQ(ob, b.substr(off, 100));
  }
}

TEST(ShadowFileTest, ReadBoundaries) {
  TempDir dir;
  std::string data = TextBytes(2 * kChunk, 4);
  WriteShadow(dir.File("s"), "k", "e", data, Options(Codec::kZstd, kChunk));
  auto f = MustOpen(dir.File("s"));
  ASSERT_TRUE(f);
  ReadContext ctx;
  std::string out(10, '\0');
  auto at_end = f->Read(data.size(), out, ctx);
  ASSERT_TRUE(at_end.ok());
  EXPECT_EQ(at_end->bytes, 0u);
  EXPECT_EQ(at_end->stop, Stop::kEndOfObject);
  auto empty = f->Read(5, std::span<char>(), ctx);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->stop, Stop::kComplete);
  EXPECT_EQ(f->Read(data.size() + 1, out, ctx).status().code(), base::StatusCode::kInvalidArgument);
  std::vector<char> small(kChunk - 1);
  EXPECT_EQ(f->ReadChunk(0, small, ctx).code(), base::StatusCode::kInvalidArgument);
  std::vector<char> buf(kChunk);
  EXPECT_EQ(f->ReadChunk(2, buf, ctx).code(), base::StatusCode::kInvalidArgument);
}

TEST(ShadowFileTest, PartialShadowGrowsByAppendAndReopenSeesIt) {
  TempDir dir;
  std::string path = dir.File("p");
  std::string data = TextBytes(4 * kChunk - 100, 5);
  WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kChunk),
              [](uint32_t i) { return i == 0 || i == 2; });
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->present_chunks(), 2u);
  EXPECT_FALSE(f->IsPresent(1));
  EXPECT_FALSE(f->complete());
  ReadContext ctx;
  std::string out(data.size(), '\0');
  auto r = f->Read(100, out, ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->stop, Stop::kAbsent);
  EXPECT_EQ(r->chunk, 1u);
  EXPECT_EQ(r->bytes, kChunk - 100);
  EXPECT_EQ(out.substr(0, r->bytes), data.substr(100, r->bytes));
  std::vector<char> buf(kChunk);
  EXPECT_TRUE(f->ReadChunk(1, buf, ctx).IsNotFound());

  CodecOptions zstd;
  CodecContext cctx;
  ASSERT_TRUE(f->AppendChunk(1, std::string_view(data).substr(kChunk, kChunk), zstd, cctx).ok());
  EXPECT_TRUE(f->IsPresent(1));
  r = f->Read(100, out, ctx);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->chunk, 3u);
  EXPECT_EQ(r->bytes, 3 * kChunk - 100);

  f = MustOpen(path);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->present_chunks(), 3u);
  ASSERT_TRUE(f->AppendChunk(3, std::string_view(data).substr(3 * kChunk), zstd, cctx).ok());
  f = MustOpen(path);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->complete());
  EXPECT_EQ(ReadWhole(*f, ctx), data);
  EXPECT_EQ(f->stats().file_size, testing::FileSize(path));
}

TEST(ShadowFileTest, AppendRejectsBadRequests) {
  TempDir dir;
  std::string path = dir.File("p");
  std::string data = TextBytes(2 * kChunk, 6);
  WriteShadow(path, "k", "e", data, Options(Codec::kLz4, kChunk),
              [](uint32_t i) { return i == 0; });
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  CodecContext ctx;
  CodecOptions o;
  std::string_view chunk1 = std::string_view(data).substr(kChunk);
  EXPECT_EQ(f->AppendChunk(0, data.substr(0, kChunk), o, ctx).code(),
            base::StatusCode::kAlreadyExists);
  EXPECT_EQ(f->AppendChunk(1, chunk1.substr(1), o, ctx).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(f->AppendChunk(2, chunk1, o, ctx).code(), base::StatusCode::kInvalidArgument);
  auto ro = ShadowFile::Open(path, "k", "e", ShadowFile::Access::kReadOnly);
  ASSERT_TRUE(ro.ok());
  EXPECT_EQ((*ro)->AppendChunk(1, chunk1, o, ctx).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ((*ro)->DropChunk(0).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(f->present_chunks(), 1u);
}

TEST(ShadowFileTest, DropMakesAChunkAbsentDurablyAndItCanBeRefetched) {
  TempDir dir;
  std::string path = dir.File("d");
  std::string data = TextBytes(3 * kChunk, 7);
  WriteShadow(path, "k", "e", data, Options(Codec::kZstd, kChunk));
  auto f = MustOpen(path);
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->DropChunk(1).ok());
  ASSERT_TRUE(f->DropChunk(1).ok()) << "dropping an absent chunk is fine";
  EXPECT_FALSE(f->IsPresent(1));
  ShadowStats s = f->stats();
  EXPECT_EQ(s.present_chunks, 2u);
  EXPECT_LT(s.live_bytes, s.file_size) << "the dropped chunk's bytes are dead space";
  f = MustOpen(path);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->IsPresent(1));
  EXPECT_EQ(f->stats().torn_entries_at_open, 0u);
  CodecContext cctx;
  ASSERT_TRUE(f->AppendChunk(1, data.substr(kChunk, kChunk), {}, cctx).ok());
  ReadContext ctx;
  EXPECT_EQ(ReadWhole(*f, ctx), data);
}

TEST(ShadowFileTest, WriterRejectsBadArguments) {
  TempDir dir;
  for (uint32_t cs : {0u, 1000u, 2048u, 6000u, 128u << 20}) {
    EXPECT_EQ(ShadowWriter::Create(dir.File("x"), "k", "e", 10, Options(Codec::kZstd, cs))
                  .status()
                  .code(),
              base::StatusCode::kInvalidArgument)
        << cs;
  }
  EXPECT_EQ(ShadowWriter::Create(dir.File("x"), "k", "e", uint64_t{1} << 40,
                                 Options(Codec::kZstd, kChunk))
                .status()
                .code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_EQ(ShadowWriter::Create(dir.File("x"), std::string(70000, 'k'), "e", 1).status().code(),
            base::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ShadowWriter::Create(dir.File("no/such/dir/x"), "k", "e", 1).status().IsNotFound());
  auto w = ShadowWriter::Create(dir.File("x"), "k", "e", 2 * kChunk, Options(Codec::kZstd, kChunk));
  ASSERT_TRUE(w.ok());
  CodecContext ctx;
  std::string chunk(kChunk, 'a');
  ASSERT_TRUE((*w)->PutChunk(1, chunk, ctx).ok());
  EXPECT_EQ((*w)->PutChunk(1, chunk, ctx).code(), base::StatusCode::kAlreadyExists);
  EXPECT_EQ((*w)->PutChunk(0, "short", ctx).code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->PutChunk(2, chunk, ctx).code(), base::StatusCode::kInvalidArgument);
  ASSERT_TRUE((*w)->Commit().ok());
  EXPECT_EQ((*w)->Commit().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ((*w)->PutChunk(0, chunk, ctx).code(), base::StatusCode::kInvalidArgument);
}

TEST(ShadowFileTest, LargeChunkSizesAndLongKeys) {
  TempDir dir;
  std::string key(5000, 'k');
  key[17] = '\0';  // keys and ETags are bytes
  std::string etag = "\"d41d8cd98f00b204e9800998ecf8427e-3\"";
  std::string data = TextBytes((1 << 20) + 3, 8);
  WriteShadow(dir.File("l"), key, etag, data, Options(Codec::kZstd, 1 << 20));
  auto f = MustOpen(dir.File("l"), key, etag);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->key(), key);
  EXPECT_EQ(f->etag(), etag);
  EXPECT_EQ(f->chunk_size(), 1u << 20);
  ReadContext ctx;
  EXPECT_EQ(ReadWhole(*f, ctx), data);
}

}  // namespace
}  // namespace shadowfs::shadow
