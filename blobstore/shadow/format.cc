#include "blobstore/shadow/format.h"

#include "blobstore/shadow/xxh3.h"

#include <bit>
#include <cstring>
#include <limits>

namespace shadowfs::shadow::format {

using base::Result;
using base::Status;

namespace {

// Byte-at-a-time so the layout does not depend on the host's endianness or alignment; compilers
// turn these into single loads and stores on little-endian machines.
template <typename T>
void Put(char* p, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
template <typename T>
T Get(const char* p) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

constexpr size_t kEntryCheckOffset = 28;

uint32_t EntryCheck(const char* bytes, uint32_t index, uint64_t header_checksum) {
  return static_cast<uint32_t>(
      XXH3_64bits_withSeed(bytes, kEntryCheckOffset, header_checksum ^ uint64_t{index}));
}

std::string Num(uint64_t v) { return std::to_string(v); }

}  // namespace

uint64_t Checksum(std::span<const char> bytes) {
  return SHADOWFS_XXH3_64(bytes.data(), bytes.size());
}

Status ValidateChunkSize(uint32_t chunk_size) {
  if (chunk_size < kMinChunkSize || chunk_size > kMaxChunkSize ||
      !std::has_single_bit(chunk_size)) {
    return Status::InvalidArgument("chunk size " + Num(chunk_size) +
                                   " is not a power of two between 4 KiB and 64 MiB");
  }
  return Status::Ok();
}

Result<uint32_t> ChunkCountFor(uint64_t object_size, uint32_t chunk_size) {
  SHADOWFS_RETURN_IF_ERROR(ValidateChunkSize(chunk_size));
  uint64_t count = object_size / chunk_size + (object_size % chunk_size != 0 ? 1 : 0);
  if (count > kMaxChunkCount) {
    return Status::InvalidArgument("a blob of " + Num(object_size) + " bytes needs " + Num(count) +
                                   " chunks of " + Num(chunk_size) +
                                   " bytes, more than the limit of " + Num(kMaxChunkCount) +
                                   "; use a larger chunk size");
  }
  return static_cast<uint32_t>(count);
}

uint32_t RawChunkLength(uint64_t object_size, uint32_t chunk_size, uint32_t index) {
  uint64_t start = uint64_t{index} * chunk_size;
  if (start >= object_size) return 0;
  uint64_t left = object_size - start;
  return left < chunk_size ? static_cast<uint32_t>(left) : chunk_size;
}

uint32_t HeaderSizeFor(size_t key_len, size_t etag_len) {
  size_t unpadded = kFixedHeaderSize + key_len + etag_len + kChecksumSize;
  return static_cast<uint32_t>((unpadded + kEntrySize - 1) / kEntrySize * kEntrySize);
}

Result<std::string> EncodeHeader(Header* h) {
  constexpr size_t kMaxLen = std::numeric_limits<uint16_t>::max();
  if (h->key.size() > kMaxLen || h->etag.size() > kMaxLen) {
    return Status::InvalidArgument("key or ETag longer than 65535 bytes");
  }
  SHADOWFS_ASSIGN_OR_RETURN(uint32_t count, ChunkCountFor(h->object_size, h->chunk_size));
  if (count != h->chunk_count) {
    return Status::InvalidArgument("chunk count " + Num(h->chunk_count) + " does not match " +
                                   Num(h->object_size) + " bytes in chunks of " +
                                   Num(h->chunk_size));
  }
  h->header_size = HeaderSizeFor(h->key.size(), h->etag.size());
  std::string out(h->header_size, '\0');
  char* p = out.data();
  std::memcpy(p, kMagic, sizeof(kMagic));
  Put<uint32_t>(p + 8, kVersion);
  Put<uint32_t>(p + 12, h->header_size);
  Put<uint64_t>(p + 16, h->object_size);
  Put<uint32_t>(p + 24, h->chunk_size);
  Put<uint32_t>(p + 28, h->chunk_count);
  Put<uint16_t>(p + 32, static_cast<uint16_t>(h->key.size()));
  Put<uint16_t>(p + 34, static_cast<uint16_t>(h->etag.size()));
  Put<uint32_t>(p + 36, 0);
  std::memcpy(p + kFixedHeaderSize, h->key.data(), h->key.size());
  std::memcpy(p + kFixedHeaderSize + h->key.size(), h->etag.data(), h->etag.size());
  size_t sum_at = h->header_size - kChecksumSize;
  h->checksum = XXH3_64bits(p, sum_at);
  Put<uint64_t>(p + sum_at, h->checksum);
  return out;
}

Result<uint32_t> DecodeHeaderPrefix(std::span<const char> prefix) {
  if (prefix.size() < kFixedHeaderSize) {
    return Status::Corruption("file is shorter than a shadow header (" + Num(prefix.size()) +
                              " bytes)");
  }
  const char* p = prefix.data();
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a shadow file (bad magic)");
  }
  uint32_t version = Get<uint32_t>(p + 8);
  if (version != kVersion) {
    return Status::NotSupported("shadow format version " + Num(version) +
                                " is not supported by this build (it reads version " +
                                Num(kVersion) + ")");
  }
  uint32_t header_size = Get<uint32_t>(p + 12);
  uint32_t expected = HeaderSizeFor(Get<uint16_t>(p + 32), Get<uint16_t>(p + 34));
  if (header_size != expected) {
    return Status::Corruption("header size " + Num(header_size) + " does not match its key and " +
                              "ETag lengths (expected " + Num(expected) + ")");
  }
  return header_size;
}

Result<Header> DecodeHeader(std::span<const char> bytes) {
  SHADOWFS_ASSIGN_OR_RETURN(uint32_t header_size, DecodeHeaderPrefix(bytes));
  if (bytes.size() < header_size) {
    return Status::Corruption("header truncated at " + Num(bytes.size()) + " of " +
                              Num(header_size) + " bytes");
  }
  const char* p = bytes.data();
  size_t sum_at = header_size - kChecksumSize;
  uint64_t stored_sum = Get<uint64_t>(p + sum_at);
  uint64_t actual_sum = XXH3_64bits(p, sum_at);
  if (stored_sum != actual_sum) return Status::Corruption("header checksum mismatch");

  Header h;
  h.header_size = header_size;
  h.checksum = actual_sum;
  h.object_size = Get<uint64_t>(p + 16);
  h.chunk_size = Get<uint32_t>(p + 24);
  h.chunk_count = Get<uint32_t>(p + 28);
  uint16_t key_len = Get<uint16_t>(p + 32);
  uint16_t etag_len = Get<uint16_t>(p + 34);
  uint32_t flags = Get<uint32_t>(p + 36);
  if (flags != 0) return Status::NotSupported("unknown header flags " + Num(flags));
  // The checksum matched, so a failure below is a writer bug or a crafted file, not bit rot.
  auto count = ChunkCountFor(h.object_size, h.chunk_size);
  if (!count.ok()) return Status::Corruption("bad header: " + count.status().message());
  if (*count != h.chunk_count) {
    return Status::Corruption("bad header: chunk count " + Num(h.chunk_count) +
                              " does not match the object and chunk sizes");
  }
  h.key.assign(p + kFixedHeaderSize, key_len);
  h.etag.assign(p + kFixedHeaderSize + key_len, etag_len);
  for (size_t i = kFixedHeaderSize + key_len + etag_len; i < sum_at; ++i) {
    if (p[i] != 0) return Status::Corruption("bad header: nonzero padding");
  }
  return h;
}

void EncodeEntry(const Entry& e, uint32_t index, uint64_t header_checksum, char* out) {
  std::memset(out, 0, kEntrySize);
  if (!e.present()) return;
  Put<uint64_t>(out, e.data_offset);
  Put<uint32_t>(out + 8, e.stored_len);
  Put<uint32_t>(out + 12, e.raw_len);
  out[16] = static_cast<char>(e.codec);
  Put<uint64_t>(out + 20, e.raw_checksum);
  Put<uint32_t>(out + kEntryCheckOffset, EntryCheck(out, index, header_checksum));
}

EntryState DecodeEntry(const char* bytes, uint32_t index, uint64_t header_checksum, Entry* e) {
  uint64_t offset = Get<uint64_t>(bytes);
  if (offset == 0) return EntryState::kAbsent;
  if (Get<uint32_t>(bytes + kEntryCheckOffset) != EntryCheck(bytes, index, header_checksum)) {
    return EntryState::kTorn;
  }
  e->data_offset = offset;
  e->stored_len = Get<uint32_t>(bytes + 8);
  e->raw_len = Get<uint32_t>(bytes + 12);
  e->codec = static_cast<Codec>(static_cast<uint8_t>(bytes[16]));
  e->raw_checksum = Get<uint64_t>(bytes + 20);
  return EntryState::kPresent;
}

Status CheckEntry(const Entry& e, uint32_t index, const Header& h, uint64_t data_start,
                  uint64_t file_size) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("index entry " + Num(index) + " " + why);
  };
  if (!IsKnownCodec(static_cast<uint8_t>(e.codec))) {
    return bad("has unknown codec " + Num(static_cast<uint8_t>(e.codec)));
  }
  uint32_t raw_len = RawChunkLength(h.object_size, h.chunk_size, index);
  if (e.raw_len != raw_len) {
    return bad("says " + Num(e.raw_len) + " raw bytes, the chunk has " + Num(raw_len));
  }
  // v1 writers keep a compressed form only when it is smaller, which also bounds the buffer a
  // reader allocates for a hostile entry.
  bool len_ok = e.codec == Codec::kNone ? e.stored_len == e.raw_len
                                        : e.stored_len > 0 && e.stored_len < e.raw_len;
  if (!len_ok) {
    return bad("has " + Num(e.stored_len) + " stored bytes for " + Num(e.raw_len) + " raw " +
               std::string(CodecName(e.codec)));
  }
  if (e.data_offset < data_start || e.data_offset > file_size ||
      e.stored_len > file_size - e.data_offset) {
    return bad("points at bytes [" + Num(e.data_offset) + ", " + Num(e.data_offset + e.stored_len) +
               ") outside the data area [" + Num(data_start) + ", " + Num(file_size) + ")");
  }
  return Status::Ok();
}

}  // namespace shadowfs::shadow::format
