#include "blobstore/shadow/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "blobstore/base/unique_fd.h"

namespace shadowfs::shadow::io {

using base::Status;

Status PreadFull(int fd, std::span<char> out, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "reading " + std::string(what));
    }
    if (n == 0) {
      return Status::Corruption(
          std::string(what) + " is truncated: the file ends at " + std::to_string(offset + done) +
          ", expected " + std::to_string(out.size()) + " bytes from " + std::to_string(offset));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status PwriteFull(int fd, std::span<const char> data, uint64_t offset, std::string_view what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "writing " + std::string(what));
    }
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status Fsync(int fd, std::string_view what) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return base::ErrnoStatus(errno, "fsync " + std::string(what));
  }
  return Status::Ok();
}

Status Fdatasync(int fd, std::string_view what) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return base::ErrnoStatus(errno, "fdatasync " + std::string(what));
  }
  return Status::Ok();
}

Status FsyncDir(const std::string& dir) {
  base::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return base::ErrnoStatus(errno, "open directory " + dir);
  return Fsync(fd.get(), "directory " + dir);
}

base::Result<uint64_t> FileSize(int fd, std::string_view what) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return base::ErrnoStatus(errno, "stat " + std::string(what));
  return static_cast<uint64_t>(st.st_size);
}

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace shadowfs::shadow::io
