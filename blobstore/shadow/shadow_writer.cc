#include "blobstore/shadow/shadow_writer.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>

#include "blobstore/shadow/file_io.h"

namespace shadowfs::shadow {

using base::Result;
using base::Status;

Result<std::unique_ptr<ShadowWriter>> ShadowWriter::Create(std::string final_path, std::string key,
                                                           std::string etag, uint64_t object_size,
                                                           const ShadowOptions& options) {
  format::Header header;
  header.object_size = object_size;
  header.chunk_size = options.chunk_size;
  header.key = std::move(key);
  header.etag = std::move(etag);
  SHADOWFS_ASSIGN_OR_RETURN(header.chunk_count,
                            format::ChunkCountFor(object_size, options.chunk_size));
  SHADOWFS_ASSIGN_OR_RETURN(std::string header_bytes, format::EncodeHeader(&header));

  std::string temp_path = final_path + std::string(TempSuffix()) + "XXXXXX";
  base::UniqueFd fd(::mkostemp(temp_path.data(), O_CLOEXEC));
  if (!fd) return base::ErrnoStatus(errno, "create temp file for " + final_path);
  auto writer = std::make_unique<ShadowWriter>(Token{}, std::move(final_path), std::move(temp_path),
                                               std::move(fd), std::move(header), options.codec);
  // From here on the destructor removes the temp file if anything fails.
  Status st = io::PwriteFull(writer->fd_.get(), header_bytes, 0, "shadow header");
  if (!st.ok()) return st;
  writer->end_ = format::DataStart(writer->header_);
  // The index is written at Commit; reserving its space now lets chunk data start after it.
  if (::ftruncate(writer->fd_.get(), static_cast<off_t>(writer->end_)) != 0) {
    return base::ErrnoStatus(errno, "extend " + writer->temp_path_);
  }
  return writer;
}

ShadowWriter::ShadowWriter(Token, std::string final_path, std::string temp_path, base::UniqueFd fd,
                           format::Header header, CodecOptions codec)
    : final_path_(std::move(final_path)),
      temp_path_(std::move(temp_path)),
      fd_(std::move(fd)),
      header_(std::move(header)),
      codec_(codec),
      entries_(header_.chunk_count) {}

ShadowWriter::~ShadowWriter() { Abandon(); }

void ShadowWriter::Abandon() {
  if (finished_) return;
  finished_ = true;
  fd_.Reset();
  // Best effort: a temp file that survives (crash, EIO) is only disk space, never visible at the
  // final path.
  ::unlink(temp_path_.c_str());
}

Status ShadowWriter::PutChunk(uint32_t index, std::span<const char> raw, CodecContext& ctx) {
  if (finished_) return Status::InvalidArgument("shadow writer already committed or abandoned");
  if (index >= header_.chunk_count) {
    return Status::InvalidArgument("chunk " + std::to_string(index) + " out of range (" +
                                   std::to_string(header_.chunk_count) + " chunks)");
  }
  uint32_t raw_len = chunk_length(index);
  if (raw.size() != raw_len) {
    return Status::InvalidArgument("chunk " + std::to_string(index) + " has " +
                                   std::to_string(raw.size()) + " bytes, expected " +
                                   std::to_string(raw_len));
  }
  if (entries_[index].present()) {
    return Status::AlreadyExists("chunk " + std::to_string(index) + " already written");
  }
  CompressedChunk c = ctx.Compress(raw, codec_);
  const uint64_t at = format::ChunkDataOffset(end_, c.codec, raw_len);
  SHADOWFS_RETURN_IF_ERROR(io::PwriteFull(fd_.get(), c.bytes, at, "shadow chunk"));
  format::Entry& e = entries_[index];
  e.data_offset = at;
  e.stored_len = static_cast<uint32_t>(c.bytes.size());
  e.raw_len = raw_len;
  e.codec = c.codec;
  e.raw_checksum = format::Checksum(raw);
  end_ = at + c.bytes.size();
  return Status::Ok();
}

Status ShadowWriter::Commit() {
  if (finished_) return Status::InvalidArgument("shadow writer already committed or abandoned");
  std::string index(size_t{format::kEntrySize} * header_.chunk_count, '\0');
  for (uint32_t i = 0; i < header_.chunk_count; ++i) {
    format::EncodeEntry(entries_[i], i, header_.checksum, index.data() + i * format::kEntrySize);
  }
  Status st = io::PwriteFull(fd_.get(), index, header_.header_size, "shadow index");
  // fsync (not fdatasync) so the new inode's metadata is durable before the name points at it.
  if (st.ok()) st = io::Fsync(fd_.get(), temp_path_);
  if (st.ok() && ::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    st = base::ErrnoStatus(errno, "rename " + temp_path_ + " to " + final_path_);
  }
  if (!st.ok()) {
    Abandon();
    return st;
  }
  finished_ = true;
  fd_.Reset();
  // The file is complete at the final path; this only makes the new name survive a crash.
  return io::FsyncDir(io::DirName(final_path_));
}

}  // namespace shadowfs::shadow
