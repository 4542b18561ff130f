#include "blobstore/local_dir_paths.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "blobstore/base/digest.h"
#include "blobstore/blob_store.h"

namespace shadowfs::blobstore::localdir {

namespace {

Status Rejected(std::string_view key, std::string_view why) {
  return Status::InvalidArgument("key " + Quote(key) +
                                 " cannot be stored in a local directory: " + std::string(why));
}

}  // namespace

Result<LocalKey> ParseLocalKey(std::string_view key) {
  SHADOWFS_RETURN_IF_ERROR(ValidateKey(key));
  if (key.front() == '/') return Rejected(key, "it is absolute (starts with '/')");
  LocalKey out;
  out.is_marker = key.back() == '/';
  std::string_view rest = out.is_marker ? key.substr(0, key.size() - 1) : key;
  std::vector<std::string> parts;
  while (true) {
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    if (part.empty()) return Rejected(key, "it has an empty path component ('//')");
    if (part == "." || part == "..") return Rejected(key, "it has a '.' or '..' component");
    if (part.size() > NAME_MAX) {
      return Rejected(key,
                      "a path component is longer than " + std::to_string(NAME_MAX) + " bytes");
    }
    parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  if (parts.front() == kReservedName) {
    return Rejected(key, "'" + std::string(kReservedName) + "/' is reserved for shadowfs itself");
  }
  out.name = std::move(parts.back());
  parts.pop_back();
  out.dirs = std::move(parts);
  return out;
}

std::string DirKey(const std::vector<std::string>& dirs, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < dirs.size(); ++i) {
    out += dirs[i];
    out += '/';
  }
  return out;
}

Result<Node> StatAt(int dir_fd, const std::string& name) {
  Node node;
  if (::fstatat(dir_fd, name.c_str(), &node.st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return node;
    return base::ErrnoStatus(errno, "stat " + Quote(name));
  }
  if (S_ISREG(node.st.st_mode)) {
    node.kind = NodeKind::kFile;
  } else if (S_ISDIR(node.st.st_mode)) {
    node.kind = NodeKind::kDir;
  } else if (S_ISLNK(node.st.st_mode)) {
    node.kind = NodeKind::kSymlink;
  } else {
    node.kind = NodeKind::kOther;
  }
  return node;
}

Result<UniqueFd> OpenDirAt(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd >= 0) return UniqueFd(fd);
  // ELOOP: a symlink, which we never follow, so for us there is no directory here.
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
    return Status::NotFound("no directory " + Quote(name));
  }
  return base::ErrnoStatus(errno, "open directory " + Quote(name));
}

Result<UniqueFd> OpenDirs(int root_fd, const std::vector<std::string>& dirs, size_t n) {
  int fd = ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return base::ErrnoStatus(errno, "dup root directory");
  UniqueFd current(fd);
  for (size_t i = 0; i < n && i < dirs.size(); ++i) {
    SHADOWFS_ASSIGN_OR_RETURN(current, OpenDirAt(current.get(), dirs[i]));
  }
  return current;
}

Result<UniqueFd> OpenFileAt(int dir_fd, const std::string& name) {
  // O_NONBLOCK so that a FIFO planted in the tree cannot hang us; the fstat below rejects it.
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP || errno == ENXIO ||
        errno == EISDIR) {
      return Status::NotFound("no file " + Quote(name));
    }
    return base::ErrnoStatus(errno, "open " + Quote(name));
  }
  UniqueFd file(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return base::ErrnoStatus(errno, "stat " + Quote(name));
  if (!S_ISREG(st.st_mode)) return Status::NotFound("not a regular file: " + Quote(name));
  return file;
}

Status Fsync(int fd, std::string_view what) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return base::ErrnoStatus(errno, "fsync " + std::string(what));
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "write " + std::string(what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Result<std::string> ReadSmallFileAt(int dir_fd, const std::string& name) {
  int fd = ::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("no file " + Quote(name));
    return base::ErrnoStatus(errno, "open " + Quote(name));
  }
  UniqueFd file(fd);
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "read " + Quote(name));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> Md5OfFile(int fd, uint64_t size) {
  base::Digest md5(base::Digest::Algorithm::kMd5);
  std::string buf(static_cast<size_t>(std::min<uint64_t>(size, kIoChunk)), '\0');
  uint64_t pos = 0;
  while (pos < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(size - pos, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) {
      if (errno == EINTR) continue;
      return base::ErrnoStatus(errno, "read to compute an ETag");
    }
    if (n == 0) return Status::IOError("file shrank while its ETag was computed");
    md5.Update(std::string_view(buf.data(), static_cast<size_t>(n)));
    pos += static_cast<uint64_t>(n);
  }
  return md5.FinishHex();
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

int64_t CtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
}

base::WallTime FromNs(int64_t ns) {
  return base::WallTime(
      std::chrono::duration_cast<base::WallTime::duration>(std::chrono::nanoseconds(ns)));
}

struct timespec ToTimespec(int64_t ns) {
  struct timespec ts;
  ts.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  return ts;
}

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

Status Collision(std::string_view file_key, std::string_view other_key) {
  return Status::AlreadyExists("the local primary cannot hold both " + Quote(file_key) + " and " +
                               Quote(other_key) +
                               ": one is a file and the other needs a directory");
}

Status NotOurs(std::string_view key, std::string_view path, const Node& node) {
  std::string what = node.kind == NodeKind::kSymlink
                         ? "a symbolic link, which the local primary never follows or replaces"
                         : "a special file (device, FIFO or socket), which is not an object";
  return Status::PermissionDenied("cannot store " + Quote(key) + ": " + Quote(path) + " is " +
                                  what);
}

TempNamer::TempNamer() {
  std::random_device rd;
  uint64_t nonce = (static_cast<uint64_t>(rd()) << 32) | rd();
  prefix_ = std::to_string(::getpid()) + "-" +
            base::HexEncode(std::string_view(reinterpret_cast<const char*>(&nonce), 8));
}

std::string TempNamer::Next(std::string_view kind) {
  return prefix_ + "-" + std::to_string(counter_.fetch_add(1)) + "." + std::string(kind);
}

}  // namespace shadowfs::blobstore::localdir
