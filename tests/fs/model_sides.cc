#include "tests/fs/model_sides.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>

namespace shadowfs::fs::model {

using base::StatusCode;

namespace {

uint64_t Fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::string_view KindName(OpKind k) {
  static constexpr std::string_view kNames[] = {
      "mkdir", "create+write", "overwrite", "read",  "truncate", "rename", "unlink",
      "rmdir", "readdir",      "stat",      "chmod", "advance",  "remount"};
  return kNames[static_cast<int>(k)];
}

// The errno -> StatusCode mapping the FUSE adapter inverts (fs/errno_map.cc).
StatusCode CodeOfErrno(int e) {
  switch (e) {
    case ENOENT:
      return StatusCode::kNotFound;
    case EEXIST:
      return StatusCode::kAlreadyExists;
    case ENOTEMPTY:
      return StatusCode::kNotEmpty;
    case EISDIR:
      return StatusCode::kIsDirectory;
    case ENOTDIR:
      return StatusCode::kNotDirectory;
    case EINVAL:
      return StatusCode::kInvalidArgument;
    case ENAMETOOLONG:
      return StatusCode::kNameTooLong;
    case EPERM:
      return StatusCode::kPermissionDenied;
    case ENOSPC:
      return StatusCode::kNoSpace;
    case ENOTSUP:
      return StatusCode::kNotSupported;
    default:
      return StatusCode::kIOError;
  }
}

// Only codes are compared: the messages differ by design.
Outcome Errno() { return Outcome{.code = CodeOfErrno(errno)}; }

std::string RenderAttr(bool dir, uint64_t size, uint32_t mode) {
  char buf[64];
  if (dir) {
    std::snprintf(buf, sizeof buf, "dir mode=%04o", mode & 07777);
  } else {
    std::snprintf(buf, sizeof buf, "file size=%llu mode=%04o",
                  static_cast<unsigned long long>(size), mode & 07777);
  }
  return buf;
}

std::string Hash(std::string_view data) {
  std::ostringstream out;
  out << std::hex << Fnv(data);
  return out.str();
}

}  // namespace

std::string WriteData(const Write& w) {
  std::string out(w.size, '\0');
  uint64_t x = (uint64_t{w.seed} << 32) ^ w.offset ^ 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i % 8 == 0) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
    }
    out[i] = static_cast<char>(x >> (8 * (i % 8)));
  }
  return out;
}

std::string Op::ToString() const {
  std::ostringstream out;
  out << KindName(kind);
  if (kind != OpKind::kAdvanceClock && kind != OpKind::kRemount) out << " '" << path << "'";
  switch (kind) {
    case OpKind::kRename:
      out << " -> '" << path2 << "'";
      break;
    case OpKind::kCreateWrite:
    case OpKind::kOverwrite:
      for (const Write& w : writes) out << " [" << w.offset << "+" << w.size << "]";
      if (kind == OpKind::kCreateWrite) out << (flag ? " via Create" : " via Lookup+Open");
      if (kind == OpKind::kOverwrite && flag) out << " readback " << size << "+" << size2;
      out << " mode " << std::oct << mode;
      break;
    case OpKind::kRead:
      out << " chunk " << size;
      break;
    case OpKind::kTruncate:
      out << " to " << size;
      break;
    case OpKind::kReadDir:
      out << (flag ? " plus" : "") << " per reply " << size;
      break;
    case OpKind::kMkdir:
    case OpKind::kChmod:
      out << " mode " << std::oct << mode;
      break;
    case OpKind::kAdvanceClock:
      out << " " << size << " ms";
      break;
    case OpKind::kRemount:
      out << (flag ? " keeping the store" : " with a fresh store");
      break;
    default:
      break;
  }
  if (skipped) out << " (skipped)";
  return out.str();
}

bool IsStrictAncestor(const std::string& a, const std::string& b) {
  return b.size() > a.size() && b.compare(0, a.size(), a) == 0 && (a.empty() || b[a.size()] == '/');
}

std::string Outcome::ToString() const {
  std::string v = value.size() > 160 ? std::to_string(value.size()) + " bytes, fnv " + Hash(value)
                                     : "'" + value + "'";
  return std::string(base::StatusCodeName(code)) + " " + v;
}

Outcome PosixSide::Run(const Op& op) {
  const std::string p = Abs(op.path);
  switch (op.kind) {
    case OpKind::kMkdir:
      if (::mkdir(p.c_str(), op.mode) != 0) return Errno();
      return {};
    case OpKind::kCreateWrite:
    case OpKind::kOverwrite: {
      int flags = op.kind == OpKind::kCreateWrite ? O_CREAT | O_WRONLY | O_TRUNC : O_RDWR;
      int fd = ::open(p.c_str(), flags | O_CLOEXEC, op.mode);
      if (fd < 0) return Errno();
      for (const Write& w : op.writes) {
        std::string data = WriteData(w);
        if (::pwrite(fd, data.data(), data.size(), w.offset) != static_cast<ssize_t>(w.size)) {
          ::close(fd);
          return Errno();
        }
      }
      Outcome out;
      if (op.kind == OpKind::kOverwrite && op.flag) {
        out.value.resize(op.size2);
        ssize_t n = ::pread(fd, out.value.data(), op.size2, op.size);
        if (n < 0) return Errno();
        out.value.resize(n);
      }
      if (::close(fd) != 0) return Errno();
      return out;
    }
    case OpKind::kRead: {
      int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Errno();
      Outcome out;
      std::string buf(op.size, '\0');
      while (true) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
          out = Errno();  // EISDIR for a directory
          break;
        }
        if (n == 0) break;
        out.value.append(buf.data(), n);
      }
      ::close(fd);
      return out;
    }
    case OpKind::kTruncate:
      if (::truncate(p.c_str(), op.size) != 0) return Errno();
      return {};
    case OpKind::kRename:
      if (::rename(p.c_str(), Abs(op.path2).c_str()) != 0) return Errno();
      return {};
    case OpKind::kUnlink:
      if (::unlink(p.c_str()) != 0) return Errno();
      return {};
    case OpKind::kRmdir:
      if (::rmdir(p.c_str()) != 0) return Errno();
      return {};
    case OpKind::kReadDir: {
      DIR* d = ::opendir(p.c_str());
      if (d == nullptr) return Errno();
      std::vector<std::string> names;
      while (dirent* e = ::readdir(d)) {
        std::string name = e->d_name;
        if (name == "." || name == "..") continue;
        struct stat st {};
        bool dir = ::lstat((p + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
        names.push_back(dir ? name + "/" : name);
      }
      ::closedir(d);
      std::sort(names.begin(), names.end());
      Outcome out;
      for (const auto& n : names) out.value += n + " ";
      return out;
    }
    case OpKind::kStat: {
      struct stat st {};
      if (::lstat(p.c_str(), &st) != 0) return Errno();
      return {.value = RenderAttr(S_ISDIR(st.st_mode), st.st_size, st.st_mode)};
    }
    case OpKind::kChmod:
      if (::chmod(p.c_str(), op.mode) != 0) return Errno();
      return {};
    case OpKind::kAdvanceClock:
    case OpKind::kRemount:
      return {};
  }
  return {};
}

void PosixSide::TreeOf(const std::string& path, std::string* out) {
  std::vector<std::string> names;
  DIR* d = ::opendir(Abs(path).c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      names.emplace_back(e->d_name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string child = path.empty() ? name : path + "/" + name;
    struct stat st {};
    ::lstat(Abs(child).c_str(), &st);
    *out += child + ": " + RenderAttr(S_ISDIR(st.st_mode), st.st_size, st.st_mode);
    if (S_ISDIR(st.st_mode)) {
      *out += "\n";
      TreeOf(child, out);
    } else {
      Op read{.kind = OpKind::kRead, .path = child, .size = 1 << 20};
      *out += " " + Hash(Run(read).value) + "\n";
    }
  }
}

Outcome PosixSide::Tree() {
  Outcome out;
  TreeOf("", &out.value);
  return out;
}

std::vector<std::pair<std::string, bool>> PosixSide::Paths() {
  std::vector<std::pair<std::string, bool>> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    out.emplace_back(std::filesystem::relative(it->path(), root_).string(), it->is_directory(ec));
  }
  std::sort(out.begin(), out.end());  // the iteration order is the filesystem's
  return out;
}

}  // namespace shadowfs::fs::model
