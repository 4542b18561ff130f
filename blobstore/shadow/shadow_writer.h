// ShadowWriter creates a new shadow file (format: format.h, FORMAT.md) and publishes it
// atomically. It writes to "<final_path>.tmp.XXXXXX" in the same directory (so the rename cannot
// cross filesystems), appends chunks as they arrive in any order, and on Commit writes the
// index, fsyncs the file, renames it over the final path and fsyncs the directory. A reader of
// the final path therefore sees the old file or the new complete one, never a mix. A writer
// destroyed without a successful Commit deletes its temp file; after a crash the temp file stays
// behind, invisible at the final path, for the store's garbage collection (TempSuffix()).
//
// Chunks may be left out: a committed shadow can be partial and grow later through
// ShadowFile::AppendChunk.
//
// Thread-safety: none; one thread drives a writer (the compression context is the caller's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"
#include "blobstore/shadow/codec.h"
#include "blobstore/shadow/format.h"

namespace shadowfs::shadow {

struct ShadowOptions {
  uint32_t chunk_size = format::kDefaultChunkSize;
  CodecOptions codec;
};

class ShadowWriter {
 public:
  // Temp files are named final_path + TempSuffix() + 6 random characters.
  static constexpr std::string_view TempSuffix() { return ".tmp."; }

  // InvalidArgument for a bad chunk size or a key/ETag over 64 KiB; errors from creating the
  // temp file (NotFound if the directory does not exist, NoSpace, PermissionDenied, ...).
  static base::Result<std::unique_ptr<ShadowWriter>> Create(std::string final_path, std::string key,
                                                            std::string etag, uint64_t object_size,
                                                            const ShadowOptions& options = {});
  ~ShadowWriter();
  ShadowWriter(const ShadowWriter&) = delete;
  ShadowWriter& operator=(const ShadowWriter&) = delete;

  // Compresses and appends chunk `index`; `raw` must be exactly that chunk's bytes.
  // InvalidArgument for a bad index or length, AlreadyExists if the chunk was already put.
  base::Status PutChunk(uint32_t index, std::span<const char> raw, CodecContext& ctx);

  // Publishes the file at the final path (replacing any file there). The writer is finished
  // afterwards, whatever the outcome. If anything before the rename fails, the temp file is
  // removed and the final path is untouched. If only the directory fsync after the rename
  // fails, the complete new file is in place but its name might not survive a power loss; the
  // error is returned so that the caller does not record the shadow as durable.
  base::Status Commit();

  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }
  uint32_t chunk_count() const { return header_.chunk_count; }
  uint32_t chunk_size() const { return header_.chunk_size; }
  uint32_t chunk_length(uint32_t index) const {
    return format::RawChunkLength(header_.object_size, header_.chunk_size, index);
  }

 private:
  // Lets Create use make_unique while keeping construction private.
  struct Token {};

 public:
  ShadowWriter(Token, std::string final_path, std::string temp_path, base::UniqueFd fd,
               format::Header header, CodecOptions codec);

 private:
  void Abandon();

  std::string final_path_;
  std::string temp_path_;
  base::UniqueFd fd_;
  format::Header header_;
  CodecOptions codec_;
  std::vector<format::Entry> entries_;
  uint64_t end_ = 0;  // where the next chunk's bytes go
  bool finished_ = false;
};

}  // namespace shadowfs::shadow
