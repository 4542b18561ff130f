// StagingFile: the local copy of a file being written (DESIGN.md section 5), a sparse file in the
// store's staging directory, and which of its chunks hold valid bytes. Chunks of the base
// version that were neither written wholly nor fetched are not valid: the owner fetches them
// before a read or a partial write touches them, and all of them before a commit. Chunks past
// the base version's end (or past a truncation) are valid: they are zeros or written bytes.
//
// Not thread-safe: the owning FileData serializes use.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"

namespace shadowfs::fs {

class StagingFile {
 public:
  // A new file in `dir` of `size` bytes whose first `base_size` bytes are the base version's
  // (still to be fetched); base_size 0 means nothing needs fetching.
  static base::Result<std::unique_ptr<StagingFile>> Create(const std::string& dir,
                                                           uint32_t chunk_size, uint64_t size,
                                                           uint64_t base_size);
  ~StagingFile();  // removes the file unless Release()d
  StagingFile(const StagingFile&) = delete;
  StagingFile& operator=(const StagingFile&) = delete;

  const std::string& path() const { return path_; }
  std::string name() const;  // the file name inside the staging directory
  uint64_t size() const { return size_; }
  uint32_t chunk_size() const { return chunk_size_; }

  // Base chunks overlapping [offset, offset + length) that are not valid yet, in order.
  std::vector<uint32_t> MissingChunks(uint64_t offset, uint64_t length) const;
  std::vector<uint32_t> AllMissingChunks() const { return MissingChunks(0, size_); }
  // The bytes of base chunk `index` that exist: [begin, end) in the file.
  std::pair<uint64_t, uint64_t> ChunkRange(uint32_t index) const;
  void MarkValid(uint32_t index);

  // Writes `data` at `offset` (the file grows); marks the chunks it covers wholly valid.
  base::Status Write(uint64_t offset, std::string_view data);
  // Fills `out` (within size()) from the file; the caller made the chunks valid first.
  base::Status Read(uint64_t offset, std::span<char> out) const;
  // Shrinks or grows (with zeros). The caller made the chunk holding `size` valid first.
  base::Status Truncate(uint64_t size);
  base::Status Sync();
  // The file now belongs to someone else (the Uploader): it is not removed at destruction.
  void Release() { released_ = true; }

 private:
  StagingFile(std::string path, base::UniqueFd fd, uint32_t chunk_size, uint64_t size,
              uint64_t base_size);

  const std::string path_;
  base::UniqueFd fd_;
  const uint32_t chunk_size_;
  uint64_t size_;
  // Chunks [0, base_limit_) may hold base bytes; valid_[i] says whether chunk i does already.
  uint64_t base_limit_;  // in bytes: min(base size, every truncation since)
  std::vector<bool> valid_;
  bool released_ = false;
};

}  // namespace shadowfs::fs
