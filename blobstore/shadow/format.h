// The on-disk layout of a shadow file, format version 1, and the pure functions that encode and
// decode it. No I/O here: ShadowWriter and ShadowFile do that. FORMAT.md is the long version.
//
// All integers are little-endian. Checksums are XXH3-64 (seed 0 unless stated).
//
//   Header (header_size bytes, a multiple of 32 so that index entries are 32-byte aligned and
//   never straddle a sector or page)
//     off  size  field
//       0     8  magic "SHDWBLOB"
//       8     4  format_version = 1
//      12     4  header_size: where the chunk index starts
//      16     8  object_size: bytes in the blob version
//      24     4  chunk_size: a power of two, 4 KiB .. 64 MiB
//      28     4  chunk_count = ceil(object_size / chunk_size), <= 2^24
//      32     2  key_len
//      34     2  etag_len
//      36     4  flags = 0 (a v1 reader rejects any other value)
//      40        key bytes, then primary ETag bytes (exactly as the primary sent it)
//                zero padding, so that header_size is a multiple of 32
//   -8(end)   8  header_checksum = XXH3-64 of every header byte before it
//
//   Chunk index: chunk_count entries of 32 bytes, entry i at header_size + 32 * i
//       0     8  data_offset: where the stored bytes start; 0 = chunk absent
//       8     4  stored_len: bytes on disk
//      12     4  raw_len: chunk_size, or the remainder for the last chunk
//      16     1  codec: 0 none, 1 lz4, 2 zstd
//      17     3  zero
//      20     8  raw_checksum = XXH3-64 of the raw (uncompressed) chunk bytes
//      28     4  entry_check = low 32 bits of XXH3-64 of bytes 0..27 with
//                seed = header_checksum XOR i
//
//   Chunk data: from header_size + 32 * chunk_count to the end of the file, in any order,
//   never overwritten once written. Bytes no entry refers to (a crashed append, a dropped
//   chunk, padding) are ignored. Writers start a raw chunk of at least kAlignedChunkMin bytes on
//   a kDataAlignment boundary (ChunkDataOffset); readers accept any offset.
//
// An entry whose data_offset is 0, or whose entry_check does not match (a torn write), means
// "absent". The seed ties each entry to its slot and to its file, so an entry copied to another
// slot or another shadow never validates. An entry that validates but describes an impossible
// chunk (wrong raw_len, unknown codec, bytes outside the data area) makes the file corrupt.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "blobstore/base/result.h"
#include "blobstore/shadow/codec.h"

namespace shadowfs::shadow::format {

inline constexpr char kMagic[8] = {'S', 'H', 'D', 'W', 'B', 'L', 'O', 'B'};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kFixedHeaderSize = 40;
inline constexpr size_t kChecksumSize = 8;
inline constexpr size_t kEntrySize = 32;
inline constexpr uint32_t kMinChunkSize = 4 * 1024;
inline constexpr uint32_t kMaxChunkSize = 64 * 1024 * 1024;
inline constexpr uint32_t kDefaultChunkSize = 1024 * 1024;
// Bounds the in-memory index (32 bytes per chunk); large blobs use larger chunks.
inline constexpr uint32_t kMaxChunkCount = 1u << 24;

// Offsets of header fields, for tests that damage specific bytes.
inline constexpr size_t kVersionOffset = 8;
inline constexpr size_t kHeaderSizeOffset = 12;
inline constexpr size_t kObjectSizeOffset = 16;
inline constexpr size_t kChunkSizeOffset = 24;

struct Header {
  uint64_t object_size = 0;
  uint32_t chunk_size = kDefaultChunkSize;
  uint32_t chunk_count = 0;
  std::string key;
  std::string etag;
  // Filled by Encode/Decode.
  uint32_t header_size = 0;
  uint64_t checksum = 0;
};

struct Entry {
  uint64_t data_offset = 0;  // 0 = absent
  uint32_t stored_len = 0;
  uint32_t raw_len = 0;
  Codec codec = Codec::kNone;
  uint64_t raw_checksum = 0;

  bool present() const { return data_offset != 0; }
};

uint64_t Checksum(std::span<const char> bytes);

// Raw chunks of kAlignedChunkMin bytes or more start on a page boundary, so that a memory mapping
// serves them from whole pages (MappedFile: an unaligned source measured 1.5x a plain pread, an
// aligned one 1.1x). At most kDataAlignment - 1 bytes of padding precede such a chunk.
inline constexpr uint32_t kDataAlignment = 4096;
inline constexpr uint32_t kAlignedChunkMin = 64 * 1024;
// Where a writer puts a chunk stored as `codec`, of `raw_len` raw bytes, when the file's data
// ends at `end`.
inline uint64_t ChunkDataOffset(uint64_t end, Codec codec, uint32_t raw_len) {
  if (codec != Codec::kNone || raw_len < kAlignedChunkMin) return end;
  return (end + kDataAlignment - 1) / kDataAlignment * kDataAlignment;
}
// The most padding ChunkDataOffset can put before a chunk of `raw_len` bytes, whatever its codec
// turns out to be: what a space reservation adds per chunk.
inline uint64_t MaxPadding(uint32_t raw_len) {
  return raw_len >= kAlignedChunkMin ? kDataAlignment - 1 : 0;
}

// InvalidArgument unless chunk_size is a power of two in range.
base::Status ValidateChunkSize(uint32_t chunk_size);
// ceil(object_size / chunk_size), or InvalidArgument above kMaxChunkCount.
base::Result<uint32_t> ChunkCountFor(uint64_t object_size, uint32_t chunk_size);
// Raw size of chunk `index` (the last one may be short).
uint32_t RawChunkLength(uint64_t object_size, uint32_t chunk_size, uint32_t index);

// Size of the header for these key/etag lengths.
uint32_t HeaderSizeFor(size_t key_len, size_t etag_len);

// Serializes the header and fills header->header_size and header->checksum. InvalidArgument if
// the key or ETag is too long or the sizes are inconsistent.
base::Result<std::string> EncodeHeader(Header* header);

// Parses the first kFixedHeaderSize bytes: checks the magic and version and returns the
// declared header_size, so the caller knows how much more to read.
base::Result<uint32_t> DecodeHeaderPrefix(std::span<const char> prefix);
// Parses and verifies a whole header (header_size bytes).
base::Result<Header> DecodeHeader(std::span<const char> bytes);

// 32 bytes for entry `index` of the file whose header checksum is `header_checksum`.
void EncodeEntry(const Entry& entry, uint32_t index, uint64_t header_checksum, char* out);
enum class EntryState { kAbsent, kTorn, kPresent };
// kAbsent for a zero data_offset, kTorn when entry_check fails (read as absent), else kPresent
// with *entry filled. Does not check the fields against the header: see CheckEntry.
EntryState DecodeEntry(const char* bytes, uint32_t index, uint64_t header_checksum, Entry* entry);
// Corruption if a present entry cannot describe chunk `index` of this file.
base::Status CheckEntry(const Entry& entry, uint32_t index, const Header& header,
                        uint64_t data_start, uint64_t file_size);

inline uint64_t IndexOffset(const Header& h, uint32_t index) {
  return h.header_size + uint64_t{kEntrySize} * index;
}
inline uint64_t DataStart(const Header& h) { return IndexOffset(h, h.chunk_count); }

}  // namespace shadowfs::shadow::format
