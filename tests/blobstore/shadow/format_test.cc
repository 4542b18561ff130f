// The on-disk encoding. The golden bytes pin format version 1: if one of these tests fails, the
// change makes existing shadows unreadable and needs a new format version, not a new golden.
#include "blobstore/shadow/format.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "blobstore/base/digest.h"

namespace shadowfs::shadow::format {
namespace {

Header SmallHeader() {
  Header h;
  h.object_size = 5000;
  h.chunk_size = 4096;
  h.chunk_count = 2;
  h.key = "a/b";
  h.etag = "\"e\"";
  return h;
}

TEST(FormatTest, HeaderGoldenBytes) {
  Header h = SmallHeader();
  auto bytes = EncodeHeader(&h);
  ASSERT_TRUE(bytes.ok());
  // "SHDWBLOB", version 1, header_size 64, object_size 5000, chunk_size 4096, chunk_count 2,
  // key_len 3, etag_len 3, flags 0, "a/b", "\"e\"", 10 bytes of padding, then the XXH3-64 of
  // the 56 bytes before it.
  EXPECT_EQ(base::HexEncode(*bytes),
            "53484457424c4f420100000040000000881300000000000000100000020000000300030000000000"
            "612f62226522"          // key, ETag
            "00000000000000000000"  // padding
            "a1206098575ade1f");    // header_checksum
  EXPECT_EQ(h.header_size, 64u);
}

TEST(FormatTest, EntryGoldenBytes) {
  Header h = SmallHeader();
  ASSERT_TRUE(EncodeHeader(&h).ok());
  Entry e;
  e.data_offset = 120;
  e.stored_len = 100;
  e.raw_len = 904;  // chunk 1 is the 5000 - 4096 byte tail
  e.codec = Codec::kZstd;
  e.raw_checksum = 0x1122334455667788ULL;
  char slot[kEntrySize];
  EncodeEntry(e, 1, h.checksum, slot);
  EXPECT_EQ(base::HexEncode(std::string_view(slot, kEntrySize)),
            "7800000000000000"  // data_offset 120
            "64000000"          // stored_len 100
            "88030000"          // raw_len 904
            "02000000"          // codec zstd, 3 zero bytes
            "8877665544332211"  // raw_checksum
            "d3778aa2");        // entry_check
  Entry back;
  ASSERT_EQ(DecodeEntry(slot, 1, h.checksum, &back), EntryState::kPresent);
  EXPECT_EQ(back.data_offset, 120u);
  EXPECT_EQ(back.stored_len, 100u);
  EXPECT_EQ(back.raw_len, 904u);
  EXPECT_EQ(back.codec, Codec::kZstd);
  EXPECT_EQ(back.raw_checksum, e.raw_checksum);
  EXPECT_TRUE(CheckEntry(back, 1, h, 120, 220).ok());
  EXPECT_FALSE(CheckEntry(back, 1, h, 120, 219).ok()) << "one byte past the end of the file";
  EXPECT_FALSE(CheckEntry(back, 1, h, 121, 220).ok()) << "starts inside the index";
  EXPECT_FALSE(CheckEntry(back, 0, h, 120, 220).ok()) << "chunk 0 has 4096 raw bytes";
  EXPECT_EQ(DecodeEntry(slot, 0, h.checksum, &back), EntryState::kTorn) << "bound to slot 1";
  // An absent entry is all zeros.
  EncodeEntry(Entry{}, 1, h.checksum, slot);
  EXPECT_EQ(std::string(slot, kEntrySize), std::string(kEntrySize, '\0'));
  EXPECT_EQ(DecodeEntry(slot, 1, h.checksum, &back), EntryState::kAbsent);
}

TEST(FormatTest, ChunkChecksumIsXxh3_64) {
  EXPECT_EQ(Checksum({}), 0x2d06800538d394c2ULL);  // XXH3_64bits("")
  for (size_t n : {size_t{128} << 10, size_t{1} << 20}) {
    std::vector<char> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<char>(i * 7);
    // Reference values from XXH3_64bits (generic build), so the dispatching variant must agree.
    EXPECT_EQ(Checksum(b),
              n == (size_t{128} << 10) ? 8881699207452459282ULL : 1202920243560128927ULL);
  }
}

TEST(FormatTest, SizesAndCounts) {
  // Fixed fields + key + ETag + checksum, rounded up to whole index entries.
  EXPECT_EQ(HeaderSizeFor(0, 0), 64u);
  EXPECT_EQ(HeaderSizeFor(16, 0), 64u);
  EXPECT_EQ(HeaderSizeFor(16, 1), 96u);
  EXPECT_EQ(HeaderSizeFor(1024, 64), 1152u);
  EXPECT_EQ(*ChunkCountFor(0, 4096), 0u);
  EXPECT_EQ(*ChunkCountFor(1, 4096), 1u);
  EXPECT_EQ(*ChunkCountFor(4096, 4096), 1u);
  EXPECT_EQ(*ChunkCountFor(4097, 4096), 2u);
  EXPECT_EQ(*ChunkCountFor(uint64_t{1} << 40, 64u << 20), 16384u);
  EXPECT_FALSE(ChunkCountFor((uint64_t{kMaxChunkCount} + 1) * 4096, 4096).ok());
  EXPECT_TRUE(ChunkCountFor(uint64_t{kMaxChunkCount} * 4096, 4096).ok());
  EXPECT_EQ(RawChunkLength(5000, 4096, 0), 4096u);
  EXPECT_EQ(RawChunkLength(5000, 4096, 1), 904u);
  EXPECT_EQ(RawChunkLength(8192, 4096, 1), 4096u);
  EXPECT_EQ(RawChunkLength(8192, 4096, 2), 0u);
  for (uint32_t bad : {0u, 4095u, 2048u, 12288u, 128u << 20}) {
    EXPECT_FALSE(ValidateChunkSize(bad).ok()) << bad;
  }
  for (uint32_t good : {4096u, 8192u, 1u << 20, 64u << 20}) {
    EXPECT_TRUE(ValidateChunkSize(good).ok()) << good;
  }
}

TEST(FormatTest, DecodeRejectsWhatEncodeNeverWrites) {
  Header h = SmallHeader();
  std::string bytes = *EncodeHeader(&h);
  ASSERT_TRUE(DecodeHeader(bytes).ok());
  EXPECT_EQ(DecodeHeader(std::string_view(bytes).substr(0, 39)).status().code(),
            base::StatusCode::kCorruption);
  EXPECT_EQ(DecodeHeader(std::string_view(bytes).substr(0, 63)).status().code(),
            base::StatusCode::kCorruption);
  std::string future = bytes;
  future[kVersionOffset] = 2;
  EXPECT_EQ(DecodeHeader(future).status().code(), base::StatusCode::kNotSupported);
}

}  // namespace
}  // namespace shadowfs::shadow::format
