#include "fs/staging_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace shadowfs::fs {

using base::Result;
using base::Status;

namespace {

Status Errno(const std::string& what, const std::string& path) {
  return Status::IOError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

Result<std::unique_ptr<StagingFile>> StagingFile::Create(const std::string& dir,
                                                         uint32_t chunk_size, uint64_t size,
                                                         uint64_t base_size) {
  std::string path = dir + "/stage-XXXXXX";
  int fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return Errno("cannot create a staging file in", dir);
  base::UniqueFd owned(fd);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    Status s = Errno("cannot size", path);
    ::unlink(path.c_str());
    return s;
  }
  return std::unique_ptr<StagingFile>(
      new StagingFile(std::move(path), std::move(owned), chunk_size, size, base_size));
}

StagingFile::StagingFile(std::string path, base::UniqueFd fd, uint32_t chunk_size, uint64_t size,
                         uint64_t base_size)
    : path_(std::move(path)),
      fd_(std::move(fd)),
      chunk_size_(chunk_size),
      size_(size),
      base_limit_(std::min(base_size, size)),
      valid_((base_limit_ + chunk_size - 1) / chunk_size, false) {}

StagingFile::~StagingFile() {
  if (!released_) ::unlink(path_.c_str());
}

std::string StagingFile::name() const { return path_.substr(path_.rfind('/') + 1); }

std::vector<uint32_t> StagingFile::MissingChunks(uint64_t offset, uint64_t length) const {
  std::vector<uint32_t> out;
  uint64_t end = std::min(offset + length, base_limit_);
  if (length == 0 || offset >= end) return out;
  for (uint64_t i = offset / chunk_size_; i * chunk_size_ < end; ++i) {
    if (!valid_[i]) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

std::pair<uint64_t, uint64_t> StagingFile::ChunkRange(uint32_t index) const {
  uint64_t begin = uint64_t{index} * chunk_size_;
  return {begin, std::min(begin + chunk_size_, base_limit_)};
}

void StagingFile::MarkValid(uint32_t index) {
  if (index < valid_.size()) valid_[index] = true;
}

Status StagingFile::Write(uint64_t offset, std::string_view data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOSPC) return Status::NoSpace("staging file " + path_ + ": disk full");
      return Errno("cannot write", path_);
    }
    done += static_cast<size_t>(n);
  }
  size_ = std::max(size_, offset + data.size());
  // Chunks wholly covered need no base bytes any more.
  uint64_t end = offset + data.size();
  for (uint64_t i = (offset + chunk_size_ - 1) / chunk_size_; i < valid_.size(); ++i) {
    auto [b, e] = ChunkRange(static_cast<uint32_t>(i));
    if (b < offset || e > end) break;
    valid_[i] = true;
  }
  return Status::Ok();
}

Status StagingFile::Read(uint64_t offset, std::span<char> out) const {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot read", path_);
    }
    if (n == 0) {  // past the end of the file on disk: a hole the size says is there
      std::memset(out.data() + done, 0, out.size() - done);
      break;
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status StagingFile::Truncate(uint64_t size) {
  if (::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0) return Errno("cannot truncate", path_);
  size_ = size;
  // What lies past a truncation is zeros or later writes, never base bytes again.
  base_limit_ = std::min(base_limit_, size);
  return Status::Ok();
}

Status StagingFile::Sync() {
  if (::fsync(fd_.get()) != 0) return Errno("cannot fsync", path_);
  return Status::Ok();
}

}  // namespace shadowfs::fs
