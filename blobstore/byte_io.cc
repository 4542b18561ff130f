#include "blobstore/byte_io.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace shadowfs::blobstore {

using base::Status;

Status BufferSink::WriteAt(uint64_t offset, std::string_view data) {
  if (offset > buffer_.size() || data.size() > buffer_.size() - offset) {
    return Status::InvalidArgument("write of " + std::to_string(data.size()) + " bytes at " +
                                   std::to_string(offset) + " overflows a buffer of " +
                                   std::to_string(buffer_.size()));
  }
  std::memcpy(buffer_.data() + offset, data.data(), data.size());
  return Status::Ok();
}

Status StringSink::WriteAt(uint64_t offset, std::string_view data) {
  base::MutexLock lock(&mu_);
  if (data_.size() < offset + data.size()) data_.resize(offset + data.size());
  std::memcpy(data_.data() + offset, data.data(), data.size());
  return Status::Ok();
}

std::string StringSink::Take() {
  base::MutexLock lock(&mu_);
  return std::move(data_);
}

Status FileSink::WriteAt(uint64_t offset, std::string_view data) {
  uint64_t pos = base_offset_ + offset;
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "writing downloaded data");
    }
    data.remove_prefix(n);
    pos += n;
  }
  return Status::Ok();
}

Status StringSource::ReadAt(uint64_t offset, std::span<char> out) {
  if (offset > data_.size() || out.size() > data_.size() - offset) {
    return Status::InvalidArgument("read past the end of the upload body");
  }
  std::memcpy(out.data(), data_.data() + offset, out.size());
  return Status::Ok();
}

Status FileSource::ReadAt(uint64_t offset, std::span<char> out) {
  if (offset > size_ || out.size() > size_ - offset) {
    return Status::InvalidArgument("read past the end of the upload body");
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                        static_cast<off_t>(base_offset_ + offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "reading upload body");
    }
    if (n == 0) return Status::IOError("upload body file shrank while being read");
    done += n;
  }
  return Status::Ok();
}

}  // namespace shadowfs::blobstore
