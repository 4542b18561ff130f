// MappedFile: a read-only shared mapping of the first `length` bytes of a shadow file, and the
// verified copy out of it that serves raw chunks (ShadowFile::ReadChunk).
//
// Why: a raw chunk read with pread crosses the memory bus twice, once for the kernel's copy into
// the caller's buffer and once for the XXH3 that verifies it there: 1.5-1.7x a plain pread of the
// same bytes (1 MiB reads from the page cache). ChecksumAndCopy hashes each 2 KiB piece straight
// from the page cache, prefetching 8 KiB ahead, and copies it to the caller while it is still in
// L1, so the bytes come from memory once: 1.05-1.1x. The piece copied is the piece just hashed, and
// shadow files are never written in place (chunks are appended, a replaced shadow is a new
// file), so the bytes copied are the bytes verified.
//
// A page that cannot be read (the file was truncated under the mapping, or the disk failed)
// raises SIGBUS. Map installs, once per process, a SIGBUS handler that turns such a fault inside
// ChecksumAndCopy into nullopt, so that the caller reads the chunk with pread and gets a proper
// error; any other SIGBUS goes to the disposition that was in place before. This is process-wide
// state by nature (a signal disposition), as is the bound on live mappings below (the kernel's
// vm.max_map_count is per process).
//
// Thread-safe: a MappedFile is immutable; ChecksumAndCopy may run on many threads at once.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

namespace shadowfs::shadow {

class MappedFile {
 public:
  // At most this many mappings are alive in the process; Map refuses more.
  static constexpr size_t kMaxLive = 1024;

  // Maps [0, length) of `fd` read-only. nullptr if the mapping fails or kMaxLive are alive: the
  // caller then reads with pread, as it would without mappings.
  static std::shared_ptr<const MappedFile> Map(int fd, uint64_t length);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint64_t length() const { return length_; }
  bool Covers(uint64_t offset, uint64_t n) const {
    return offset <= length_ && n <= length_ - offset;
  }

  // Bytes [from, from + to.size()) of a range, and where they go.
  struct PieceCopy {
    uint64_t from = 0;
    std::span<char> to;
  };
  // The XXH3-64 of [offset, offset + length), with each of `copies` (within the range) copied to
  // its destination. nullopt if a page could not be read (SIGBUS), with the destinations holding
  // garbage. Requires Covers(offset, length).
  std::optional<uint64_t> ChecksumAndCopy(uint64_t offset, uint64_t length,
                                          std::span<const PieceCopy> copies) const;
  // The whole range [offset, offset + out.size()) into `out`.
  std::optional<uint64_t> ChecksumAndCopy(uint64_t offset, std::span<char> out) const {
    PieceCopy all{0, out};
    return ChecksumAndCopy(offset, out.size(), {&all, 1});
  }

  // Whether the pages of [offset, offset + length) are in the page cache (mincore of its last
  // page; length > 0). A page that
  // is not would be read from disk by a page fault, a few pages at a time; pread reads it with
  // the kernel's sequential readahead, several times faster (a 100 MiB shadow after drop_caches
  // read through FUSE: 60 ms mapped, 55 ms with pread).
  bool Resident(uint64_t offset, uint64_t length) const;

  // Mappings alive in the process now.
  static size_t live();

 private:
  MappedFile(const char* data, uint64_t length) : data_(data), length_(length) {}

  const char* const data_;
  const uint64_t length_;
};

}  // namespace shadowfs::shadow
