// Helpers for the shadow tests: a scratch directory, generated data, and raw byte surgery on
// files to simulate damage and torn writes.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "blobstore/shadow/codec.h"
#include "blobstore/shadow/format.h"
#include "blobstore/shadow/shadow_file.h"
#include "blobstore/shadow/shadow_writer.h"
#include "tests/support/temp_dir.h"

namespace shadowfs::shadow::testing {

using shadowfs::testing::TempDir;

// Text that compresses well but not trivially: words from a small vocabulary.
inline std::string TextBytes(size_t n, uint32_t seed) {
  static constexpr const char* kWords[] = {"shadow",  "chunk", "the", "of",    "index",   "blob",
                                           "primary", "read",  "a",   "cache", "version", "etag"};
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(n + 16);
  while (out.size() < n) {
    out += kWords[rng() % std::size(kWords)];
    out += (rng() % 11 == 0) ? ".\n" : " ";
  }
  out.resize(n);
  return out;
}

inline std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
  }
  return out;
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void WriteAt(const std::string& path, uint64_t offset, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(bytes.size()));
  ::close(fd);
}

inline void FlipBit(const std::string& path, uint64_t offset, int bit) {
  int fd = ::open(path.c_str(), O_RDWR);
  ASSERT_GE(fd, 0) << path;
  char c = 0;
  ASSERT_EQ(::pread(fd, &c, 1, static_cast<off_t>(offset)), 1) << "offset " << offset;
  c = static_cast<char>(c ^ (1 << bit));
  ASSERT_EQ(::pwrite(fd, &c, 1, static_cast<off_t>(offset)), 1);
  ::close(fd);
}

inline void Truncate(const std::string& path, uint64_t size) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(size)), 0) << path;
}

inline uint64_t FileSize(const std::string& path) { return std::filesystem::file_size(path); }

inline ShadowOptions Options(Codec codec, uint32_t chunk_size) {
  ShadowOptions o;
  o.chunk_size = chunk_size;
  o.codec.preferred = codec;
  return o;
}

// Writes `data` as a shadow with the chunks for which present(i) is true, and commits it.
template <typename Pred>
void WriteShadow(const std::string& path, const std::string& key, const std::string& etag,
                 std::string_view data, const ShadowOptions& options, Pred present) {
  auto w = ShadowWriter::Create(path, key, etag, data.size(), options);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  CodecContext ctx;
  for (uint32_t i = 0; i < (*w)->chunk_count(); ++i) {
    if (!present(i)) continue;
    auto chunk = data.substr(uint64_t{i} * options.chunk_size, (*w)->chunk_length(i));
    ASSERT_TRUE((*w)->PutChunk(i, chunk, ctx).ok());
  }
  auto st = (*w)->Commit();
  ASSERT_TRUE(st.ok()) << st.ToString();
}

inline void WriteShadow(const std::string& path, const std::string& key, const std::string& etag,
                        std::string_view data, const ShadowOptions& options) {
  WriteShadow(path, key, etag, data, options, [](uint32_t) { return true; });
}

// The decoded index entry of chunk `index` as it is on disk.
inline format::Entry EntryOnDisk(const std::string& path, uint32_t index) {
  std::string bytes = ReadAll(path);
  auto h = format::DecodeHeader(bytes);
  EXPECT_TRUE(h.ok());
  format::Entry e;
  if (!h.ok()) return e;
  format::DecodeEntry(bytes.data() + format::IndexOffset(*h, index), index, h->checksum, &e);
  return e;
}

inline format::Header HeaderOnDisk(const std::string& path) {
  auto h = format::DecodeHeader(ReadAll(path));
  EXPECT_TRUE(h.ok());
  return h.ok() ? *h : format::Header{};
}

// Reads the whole blob through Read(); fails the test unless it is complete and verified.
inline std::string ReadWhole(const ShadowFile& f, ReadContext& ctx) {
  std::string out(f.object_size(), '\0');
  auto r = f.Read(0, out, ctx);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return "";
  EXPECT_EQ(r->stop, RangeRead::Stop::kComplete) << r->error.ToString();
  EXPECT_EQ(r->bytes, out.size());
  return out;
}

}  // namespace shadowfs::shadow::testing
