// Raw chunks served through a memory mapping (MappedFile, ShadowFile with a serving
// ReadContext): the same bytes and the same verdicts as pread, damage still detected, a file cut
// short under the mapping an error and not a crash, and mappings given back.
#include "blobstore/shadow/mapped_file.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "blobstore/base/unique_fd.h"
#include "blobstore/shadow/shadow_file.h"
#include "tests/blobstore/shadow/shadow_test_util.h"

namespace shadowfs::shadow {
namespace {

using base::StatusCode;
using testing::Options;
using testing::RandomBytes;
using testing::TempDir;
using testing::WriteShadow;

constexpr uint32_t kChunk = 256 * 1024;  // large enough to be mapped (kAlignedChunkMin)
constexpr ReadContext::Use kServing = ReadContext::Use::kServing;

base::UniqueFd WriteFile(const std::string& path, const std::string& data) {
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  EXPECT_TRUE(fd);
  EXPECT_EQ(::pwrite(fd.get(), data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
  return fd;
}

TEST(MappedFileTest, ChecksumAndCopyMatchesTheFormatsChecksumAtEverySize) {
  TempDir dir;
  std::string data = RandomBytes(3 * kChunk + 4321, 7);
  base::UniqueFd fd = WriteFile(dir.File("f"), data);
  auto map = MappedFile::Map(fd.get(), data.size());
  ASSERT_NE(map, nullptr);
  // Sizes around the 4 KiB pieces the copy works in, at page-aligned and unaligned offsets.
  for (uint64_t offset : {uint64_t{0}, uint64_t{4096}, uint64_t{100}}) {
    for (size_t n : {size_t{1}, size_t{240}, size_t{4095}, size_t{4096}, size_t{4097},
                     size_t{3 * 4096 + 17}, size_t{kChunk}, size_t{2 * kChunk + 4000}}) {
      std::string out(n, '\0');
      std::optional<uint64_t> sum = map->ChecksumAndCopy(offset, out);
      ASSERT_TRUE(sum.has_value());
      std::string_view want = std::string_view(data).substr(offset, n);
      EXPECT_EQ(*sum, format::Checksum(want)) << "offset " << offset << " size " << n;
      EXPECT_EQ(out, want) << "offset " << offset << " size " << n;
    }
  }
}

TEST(MappedFileTest, AFileCutShortUnderTheMappingIsAFailedReadNotACrash) {
  TempDir dir;
  std::string data = RandomBytes(4 * kChunk, 8);
  base::UniqueFd fd = WriteFile(dir.File("f"), data);
  auto map = MappedFile::Map(fd.get(), data.size());
  ASSERT_NE(map, nullptr);
  ASSERT_EQ(::ftruncate(fd.get(), kChunk), 0);
  std::string out(kChunk, '\0');
  EXPECT_FALSE(map->ChecksumAndCopy(2 * kChunk, out).has_value());  // SIGBUS, caught
  // What is still in the file reads on, through the same mapping.
  std::optional<uint64_t> sum = map->ChecksumAndCopy(0, out);
  ASSERT_TRUE(sum.has_value());
  EXPECT_EQ(out, data.substr(0, kChunk));
}

TEST(MappedFileTest, ResidentSaysWhetherTheRangeIsInThePageCache) {
  TempDir dir;
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.path().c_str(), &fs), 0);
  if (fs.f_type == TMPFS_MAGIC) GTEST_SKIP() << "tmpfs keeps its pages: nothing to drop";
  std::string data = RandomBytes(2 * kChunk, 10);
  base::UniqueFd fd = WriteFile(dir.File("f"), data);
  ASSERT_EQ(::fdatasync(fd.get()), 0);  // clean pages, which the kernel can drop
  auto map = MappedFile::Map(fd.get(), data.size());
  ASSERT_NE(map, nullptr);
  ASSERT_EQ(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED), 0);
  EXPECT_FALSE(map->Resident(kChunk, kChunk));
  std::string out(kChunk, '\0');
  ASSERT_EQ(::pread(fd.get(), out.data(), kChunk, kChunk), static_cast<ssize_t>(kChunk));
  EXPECT_TRUE(map->Resident(kChunk, kChunk));
}

TEST(MappedFileTest, MappingsAreCountedAndGivenBack) {
  TempDir dir;
  base::UniqueFd fd = WriteFile(dir.File("f"), RandomBytes(kChunk, 9));
  const size_t before = MappedFile::live();
  {
    auto a = MappedFile::Map(fd.get(), kChunk);
    auto b = MappedFile::Map(fd.get(), kChunk);
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(MappedFile::live(), before + 2);
  }
  EXPECT_EQ(MappedFile::live(), before);
  EXPECT_EQ(MappedFile::Map(fd.get(), 0), nullptr);
}

class MappedShadowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_ = RandomBytes(3 * kChunk + 1000, 3);  // random: every chunk is stored raw
    WriteShadow(path_, "k", "e", data_, Options(Codec::kZstd, kChunk));
    for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(testing::EntryOnDisk(path_, i).codec, Codec::kNone);
  }
  std::unique_ptr<ShadowFile> Open() {
    auto f = ShadowFile::Open(path_, "k", "e");
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() ? std::move(*f) : nullptr;
  }

  TempDir dir_;
  std::string path_ = dir_.File("s");
  std::string data_;
};

TEST_F(MappedShadowTest, LargeRawChunksArePageAlignedAndServedThroughTheMapping) {
  // The writer pads before each large raw chunk; the small last chunk is not padded.
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(testing::EntryOnDisk(path_, i).data_offset % format::kDataAlignment, 0u) << i;
  }
  auto f = Open();
  ASSERT_TRUE(f);
  ReadContext one_pass;
  EXPECT_EQ(testing::ReadWhole(*f, one_pass), data_);
  EXPECT_FALSE(f->mapped()) << "a one-pass reader (scrub, promotion) maps nothing";
  ReadContext serving(kServing);
  EXPECT_EQ(testing::ReadWhole(*f, serving), data_);
  EXPECT_TRUE(f->mapped());
  // Unaligned partial reads across chunk edges come out the same.
  for (uint64_t offset : {uint64_t{1}, uint64_t{kChunk - 10}, uint64_t{2 * kChunk + 5}}) {
    std::string out(kChunk, '\0');
    auto r = f->Read(offset, out, serving);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(out.substr(0, r->bytes), data_.substr(offset, r->bytes));
  }
  f->Unmap();
  EXPECT_FALSE(f->mapped());
  EXPECT_EQ(testing::ReadWhole(*f, serving), data_);  // maps again
  EXPECT_TRUE(f->mapped());
}

// A read of part of a mapped chunk copies that part straight to the caller and keeps only what
// follows it: the next forward read is served from what was kept, a read further back decodes
// the chunk again rather than use bytes that were never kept.
TEST_F(MappedShadowTest, PartialReadsKeepWhatFollowsThemAndNothingBefore) {
  auto f = Open();
  ASSERT_TRUE(f);
  ReadContext serving(kServing);
  auto read = [&](uint64_t offset, size_t n) {
    std::string out(n, '\0');
    auto r = f->Read(offset, out, serving);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->bytes, n);
    return out;
  };
  // Chunk 0 is read whole first, so that the context holds garbage for chunk 1's head.
  EXPECT_EQ(read(0, kChunk), data_.substr(0, kChunk));
  // As the kernel's readahead: 1 chunk's worth from three quarters into chunk 1.
  const uint64_t q = kChunk / 4;
  EXPECT_EQ(read(kChunk + 3 * q, kChunk), data_.substr(kChunk + 3 * q, kChunk));
  EXPECT_EQ(serving.cached_chunk(), 2u);
  EXPECT_EQ(read(2 * kChunk + 3 * q, q), data_.substr(2 * kChunk + 3 * q, q));  // kept
  EXPECT_EQ(read(2 * kChunk + q, q), data_.substr(2 * kChunk + q, q));  // before it: decoded
  EXPECT_EQ(read(kChunk + 100, 100), data_.substr(kChunk + 100, 100));
  EXPECT_EQ(read(kChunk + 50, 100), data_.substr(kChunk + 50, 100));
}

TEST_F(MappedShadowTest, EveryDamagedByteIsDetectedThroughTheMapping) {
  format::Entry e = testing::EntryOnDisk(path_, 1);
  auto f = Open();
  ASSERT_TRUE(f);
  ReadContext serving(kServing);
  std::vector<char> buf(kChunk);
  ASSERT_TRUE(f->ReadChunk(1, buf, serving).ok());
  ASSERT_TRUE(f->mapped());
  // The damage goes through the page cache, so the live mapping sees it.
  for (uint64_t at : {e.data_offset, e.data_offset + 4095, e.data_offset + 4096,
                      e.data_offset + kChunk / 2 + 3, e.data_offset + e.stored_len - 1}) {
    testing::FlipBit(path_, at, 5);
    EXPECT_EQ(f->ReadChunk(1, buf, serving).code(), StatusCode::kCorruption) << "byte " << at;
    testing::FlipBit(path_, at, 5);
    ASSERT_TRUE(f->ReadChunk(1, buf, serving).ok());
    EXPECT_EQ(std::string_view(buf.data(), kChunk), std::string_view(data_).substr(kChunk, kChunk));
  }
}

TEST_F(MappedShadowTest, AShadowCutShortWhileMappedReadsAsCorruptNotACrash) {
  auto f = Open();
  ASSERT_TRUE(f);
  ReadContext serving(kServing);
  ASSERT_EQ(testing::ReadWhole(*f, serving), data_);
  ASSERT_TRUE(f->mapped());
  format::Entry e = testing::EntryOnDisk(path_, 2);
  testing::Truncate(path_, e.data_offset + 1000);
  std::vector<char> buf(kChunk);
  base::Status st = f->ReadChunk(2, buf, serving);
  EXPECT_EQ(st.code(), StatusCode::kCorruption) << st.ToString();
  EXPECT_TRUE(f->ReadChunk(0, buf, serving).ok());
}

TEST_F(MappedShadowTest, APartialShadowIsReadWithoutAMapping) {
  std::string partial = dir_.File("partial");
  WriteShadow(partial, "k", "e", data_, Options(Codec::kZstd, kChunk),
              [](uint32_t i) { return i != 2; });
  auto f = ShadowFile::Open(partial, "k", "e");
  ASSERT_TRUE(f.ok());
  ReadContext serving(kServing);
  std::vector<char> buf(kChunk);
  ASSERT_TRUE((*f)->ReadChunk(0, buf, serving).ok());
  EXPECT_FALSE((*f)->mapped()) << "it grows with each append";
  // Completed by an append, it is mapped from its next read on.
  ASSERT_TRUE((*f)->AppendChunk(2, std::string_view(data_).substr(2 * kChunk, kChunk),
                                Options(Codec::kZstd, kChunk).codec, serving.codec())
                  .ok());
  EXPECT_EQ(testing::EntryOnDisk(partial, 2).data_offset % format::kDataAlignment, 0u);
  ASSERT_TRUE((*f)->ReadChunk(2, buf, serving).ok());
  EXPECT_EQ(std::string_view(buf.data(), kChunk),
            std::string_view(data_).substr(2 * kChunk, kChunk));
  EXPECT_TRUE((*f)->mapped());
}

}  // namespace
}  // namespace shadowfs::shadow
