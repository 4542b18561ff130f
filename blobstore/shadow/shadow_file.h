// ShadowFile: an open, validated shadow (a local, compressed, checksummed copy of one version of
// one blob, possibly partial). The format is specified in format.h and FORMAT.md: a header
// (magic "SHDWBLOB", version, key, primary ETag, sizes, XXH3 checksum), an index of 32-byte
// chunk entries each carrying its own check, then chunk data stored raw, lz4 or zstd.
//
// Open verifies the header and the whole index and keeps the index in memory; every chunk read
// re-verifies the XXH3 of the raw bytes, so a chunk that fails is reported as corrupt (and never
// returned) for the caller to DropChunk and refetch. A serving reader (ReadContext::Use::kServing)
// reads the large, page-aligned raw chunks of a complete shadow through a mapping of the file
// (MappedFile), kept until Unmap or the file's end. A partial shadow grows in place with
// AppendChunk: the data goes to the end of the file and is made durable before its index entry
// is written, so a crash leaves either the old entry or an unreferenced tail, and a torn entry
// fails its check and reads as absent.
//
// Thread-safety: all methods may be called concurrently. Reads use the in-memory index, which
// changes only after an append's entry is durable or as a drop starts. AppendChunk and
// DropChunk of different chunks proceed in parallel: space is reserved under a short lock and
// the writes and fdatasyncs run without it; a second writer of the same chunk gets
// AlreadyExists. Stored bytes are never overwritten, so a reader racing a drop still reads the
// bytes its entry described. A ReadContext must not be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/mutex.h"
#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"
#include "blobstore/shadow/codec.h"
#include "blobstore/shadow/format.h"
#include "blobstore/shadow/mapped_file.h"

namespace shadowfs::shadow {

// Per-thread state for reading shadows: codec contexts, a buffer for stored bytes, and the last
// chunk decoded for a read that covered only part of it, so that sequential reads smaller than
// a chunk decode and verify each chunk once. The cached chunk is keyed by the file's identity
// (key, ETag, sizes, header checksum), which fixes its content, so it may be reused across
// ShadowFile objects of the same blob version.
class ReadContext {
 public:
  // A context that serves an open file's reads maps complete shadows and reads their raw chunks
  // through the mapping (MappedFile: one pass over memory instead of two). One that reads each
  // chunk once (scrub, promotion) leaves them unmapped.
  enum class Use { kOnePass, kServing };
  explicit ReadContext(Use use = Use::kOnePass) : serving_(use == Use::kServing) {}

  CodecContext& codec() { return codec_; }
  void ForgetCachedChunk() { cached_ = false; }
  // The index of the chunk held for partial reads, if any (of whichever file it was read from).
  std::optional<uint32_t> cached_chunk() const {
    return cached_ ? std::optional<uint32_t>(cached_index_) : std::nullopt;
  }
  // Whether that chunk holds byte `offset` of its blob (whatever the file's chunk size).
  bool HoldsOffset(uint64_t offset) const {
    const uint64_t start = uint64_t{cached_index_} * cached_header_.chunk_size;
    return cached_ && offset >= start + cached_from_ && offset < start + cached_header_.chunk_size;
  }

 private:
  friend class ShadowFile;
  // Whether bytes [from, end) of chunk `index` of the file with header `h` are held.
  bool Holds(const format::Header& h, uint32_t index, uint32_t from) const;
  void Remember(const format::Header& h, uint32_t index, uint32_t from);

  const bool serving_;
  // Whether the last chunk checked was in the page cache, and the mapped reads since.
  bool resident_ = false;
  uint32_t reads_since_check_ = 0;
  CodecContext codec_;
  std::vector<char> chunk_;
  bool cached_ = false;
  uint32_t cached_index_ = 0;
  uint32_t cached_from_ = 0;  // chunk_ holds the chunk's bytes from here to its end
  format::Header cached_header_;
};

// What a range read produced. out[0, bytes) holds verified data; the rest of `out` is
// unspecified. `stop` says why the read ended.
struct RangeRead {
  enum class Stop : uint8_t {
    kComplete,     // the whole range was read
    kEndOfObject,  // the range extends past the blob; bytes = object_size - offset
    kAbsent,       // chunk `chunk` is not in the shadow: fetch it from the primary
    kCorrupt,      // chunk `chunk` failed verification: DropChunk it and refetch
  };
  size_t bytes = 0;
  Stop stop = Stop::kComplete;
  uint32_t chunk = 0;
  base::Status error;  // for kCorrupt, what failed
};

struct ShadowStats {
  uint32_t present_chunks = 0;
  uint64_t present_raw_bytes = 0;  // bytes of the blob the shadow can serve
  uint64_t file_size = 0;          // bytes on disk, including dead space
  uint64_t live_bytes = 0;         // header + index + present chunks' stored bytes
  std::array<uint32_t, kCodecCount> chunks_by_codec{};  // present chunks, indexed by Codec
  uint32_t torn_entries_at_open = 0;                    // entries that read as absent
};

class ShadowFile {
 public:
  enum class Access { kReadOnly, kReadWrite };

  // NotFound if there is no file at `path`. Corruption (with the path and the reason) if the
  // file is damaged, is not a shadow, or holds another key or ETag than expected. NotSupported
  // for a format version this build does not read.
  static base::Result<std::unique_ptr<ShadowFile>> Open(const std::string& path,
                                                        std::string_view expected_key,
                                                        std::string_view expected_etag,
                                                        Access access = Access::kReadWrite);

  // Reads chunk `index` into out[0, chunk_length(index)) and verifies it. NotFound if the chunk
  // is absent, Corruption if its bytes fail verification, InvalidArgument for a bad index or a
  // short `out`, IOError for an I/O failure. On any error `out` may hold garbage.
  base::Status ReadChunk(uint32_t index, std::span<char> out, ReadContext& ctx) const;

  // Reads [offset, offset + out.size()) across chunks; see RangeRead. InvalidArgument if
  // offset > object_size; I/O failures are returned as errors.
  base::Result<RangeRead> Read(uint64_t offset, std::span<char> out, ReadContext& ctx) const;

  // Adds chunk `index` to the committed shadow; `raw` must be exactly that chunk's bytes.
  // Returns once the chunk is durable and visible to readers. AlreadyExists if the chunk is
  // present or being appended by another thread.
  base::Status AppendChunk(uint32_t index, std::span<const char> raw, const CodecOptions& options,
                           CodecContext& ctx);

  // Marks chunk `index` absent, in memory at once and then durably on disk. OK if it is
  // already absent.
  base::Status DropChunk(uint32_t index);

  const std::string& path() const { return path_; }
  const std::string& key() const { return header_.key; }
  const std::string& etag() const { return header_.etag; }
  uint64_t object_size() const { return header_.object_size; }
  uint32_t chunk_size() const { return header_.chunk_size; }
  uint32_t chunk_count() const { return header_.chunk_count; }
  uint32_t chunk_length(uint32_t index) const {
    return format::RawChunkLength(header_.object_size, header_.chunk_size, index);
  }
  bool IsPresent(uint32_t index) const EXCLUDES(mu_);
  uint32_t present_chunks() const EXCLUDES(mu_);
  bool complete() const { return present_chunks() == chunk_count(); }
  ShadowStats stats() const EXCLUDES(mu_);

  // Gives up the memory mapping that serving reads of a complete shadow use (the last reader
  // closed the file); a later serving read maps the file again. Readers in flight keep theirs.
  void Unmap() const EXCLUDES(mu_);
  bool mapped() const EXCLUDES(mu_);

 private:
  struct Token {};

 public:
  ShadowFile(Token, std::string path, base::UniqueFd fd, Access access, format::Header header,
             uint64_t file_size);

 private:
  base::Status CheckWritable(uint32_t index) const;
  void ClearBusy(uint32_t index) EXCLUDES(mu_);
  base::Result<format::Entry> EntryFor(uint32_t index) const EXCLUDES(mu_);
  // Whether chunk `e` may be read through the mapping by this reader.
  static bool Mappable(const format::Entry& e, const ReadContext& ctx);
  base::Status ChunkError(const base::Status& s, uint32_t index, const format::Entry& e) const;
  // Verifies raw chunk `e` through the file's mapping, copying `copies` out of it: nullopt (read
  // it with pread instead) if the shadow is not complete, no mapping can be made, or a page
  // cannot be read.
  std::optional<base::Status> ReadMapped(const format::Entry& e,
                                         std::span<const MappedFile::PieceCopy> copies,
                                         ReadContext& ctx) const EXCLUDES(mu_);
  // Reads and verifies chunk `index`, puts its bytes [in_chunk, in_chunk + part.size()) into
  // `part`, and leaves in ctx what a later read of the chunk may need.
  base::Status ReadPartOfChunk(uint32_t index, uint32_t in_chunk, std::span<char> part,
                               ReadContext& ctx) const;

  const std::string path_;
  const base::UniqueFd fd_;
  const Access access_;
  const format::Header header_;
  const uint64_t data_start_;
  uint32_t torn_at_open_ = 0;  // set during Open only

  // A leaf lock: never held across I/O, and no other lock is taken under it.
  mutable base::Mutex mu_;
  std::vector<format::Entry> entries_ GUARDED_BY(mu_);
  // A chunk being appended or dropped; its slot on disk belongs to that thread.
  std::vector<bool> busy_ GUARDED_BY(mu_);
  uint64_t end_ GUARDED_BY(mu_);  // where the next append goes
  uint32_t present_ GUARDED_BY(mu_) = 0;
  uint64_t present_raw_ GUARDED_BY(mu_) = 0;
  uint64_t present_stored_ GUARDED_BY(mu_) = 0;
  std::array<uint32_t, kCodecCount> by_codec_ GUARDED_BY(mu_){};
  // Of the whole file as it was when mapped; replaced when a chunk lies beyond it.
  mutable std::shared_ptr<const MappedFile> mapping_ GUARDED_BY(mu_);

  void AddPresent(const format::Entry& e) REQUIRES(mu_);
  void RemovePresent(const format::Entry& e) REQUIRES(mu_);
};

}  // namespace shadowfs::shadow
