#include "blobstore/local_dir_sidecar.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <nlohmann/json.hpp>

#include "blobstore/base/digest.h"

namespace shadowfs::blobstore::localdir {

using nlohmann::json;

bool SidecarRecord::Describes(const struct stat& st) const {
  if (ino != static_cast<uint64_t>(st.st_ino)) return false;
  if (is_dir) return S_ISDIR(st.st_mode);
  return S_ISREG(st.st_mode) && size == static_cast<uint64_t>(st.st_size) &&
         mtime_ns == MtimeNs(st) && ctime_ns == CtimeNs(st);
}

ObjectInfo SidecarRecord::ToInfo(std::string_view key) const {
  ObjectInfo info;
  info.key = std::string(key);
  info.size = is_dir ? 0 : size;
  info.etag = is_dir ? base::Md5Hex("") : etag;
  info.last_modified = FromNs(mtime_ns);
  info.content_type = content_type;
  info.metadata = metadata;
  return info;
}

Result<std::string> SidecarStore::Encode(std::string_view key,
                                         const std::vector<SidecarRecord>& records) {
  // nlohmann throws on strings that are not UTF-8 (metadata values come from callers); keep the
  // exception inside this function.
  try {
    json doc;
    doc["version"] = 1;
    doc["key"] = std::string(key);
    json list = json::array();
    for (const auto& r : records) {
      json j;
      j["ino"] = r.ino;
      j["dir"] = r.is_dir;
      j["implicit"] = r.implicit_dir;
      j["size"] = r.size;
      j["mtime_ns"] = r.mtime_ns;
      j["ctime_ns"] = r.ctime_ns;
      j["etag"] = r.etag;
      j["content_type"] = r.content_type;
      j["metadata"] = r.metadata;
      list.push_back(std::move(j));
    }
    doc["records"] = std::move(list);
    return doc.dump();
  } catch (const json::exception& e) {
    return Status::InvalidArgument("metadata of '" + std::string(key) +
                                   "' cannot be stored (it must be valid UTF-8): " + e.what());
  }
}

std::vector<SidecarRecord> SidecarStore::Decode(std::string_view key, std::string_view text) {
  std::vector<SidecarRecord> out;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  try {
    // A sidecar for another key would be a hash collision or a file copied by hand: ignore it.
    if (doc.value("key", std::string()) != key) return {};
    for (const auto& j : doc.at("records")) {
      SidecarRecord r;
      r.ino = j.at("ino").get<uint64_t>();
      r.is_dir = j.value("dir", false);
      r.implicit_dir = j.value("implicit", false);
      r.size = j.value("size", uint64_t{0});
      r.mtime_ns = j.value("mtime_ns", int64_t{0});
      r.ctime_ns = j.value("ctime_ns", int64_t{0});
      r.etag = j.value("etag", std::string());
      r.content_type = j.value("content_type", std::string());
      r.metadata = j.value("metadata", UserMetadata());
      out.push_back(std::move(r));
    }
  } catch (const json::exception&) {
    return {};
  }
  return out;
}

SidecarStore::Location SidecarStore::Locate(std::string_view key) {
  std::string hash = base::Sha256Hex(key);
  return Location{hash.substr(0, 2), hash.substr(2) + ".json"};
}

Result<std::vector<SidecarRecord>> SidecarStore::Load(std::string_view key) const {
  Location where = Locate(key);
  int fd = ::openat(meta_fd_, where.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::vector<SidecarRecord>{};
    return base::ErrnoStatus(errno, "open sidecar directory for '" + std::string(key) + "'");
  }
  UniqueFd dir(fd);
  auto text = ReadSmallFileAt(dir.get(), where.file);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::vector<SidecarRecord>{};
    return text.status().WithContext("reading the sidecar of '" + std::string(key) + "'");
  }
  return Decode(key, *text);
}

Status SidecarStore::Remove(const Location& where) {
  int fd = ::openat(meta_fd_, where.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : base::ErrnoStatus(errno, "open sidecars");
  UniqueFd dir(fd);
  // Not synced: a sidecar that survives its object names an inode that is gone, so it matches
  // nothing.
  if (::unlinkat(dir.get(), where.file.c_str(), 0) != 0 && errno != ENOENT) {
    return base::ErrnoStatus(errno, "remove sidecar");
  }
  return Status::Ok();
}

Status SidecarStore::Store(std::string_view key, const std::vector<SidecarRecord>& records,
                           Durability durability) {
  Location where = Locate(key);
  if (records.empty()) return Remove(where);
  SHADOWFS_ASSIGN_OR_RETURN(std::string text, Encode(key, records));

  const std::string tmp = namer_->Next("meta");
  int fd = ::openat(tmp_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return base::ErrnoStatus(errno, "create sidecar of '" + std::string(key) + "'");
  UniqueFd file(fd);
  auto fail = [&](const Status& st) {
    ::unlinkat(tmp_fd_, tmp.c_str(), 0);
    return st.WithContext("writing the sidecar of '" + std::string(key) + "'");
  };
  Status st = WriteAll(fd, text, "sidecar");
  if (st.ok() && durability != Durability::kNone) st = Fsync(fd, "sidecar");
  if (!st.ok()) return fail(st);
  file.Reset();

  bool created_dir = ::mkdirat(meta_fd_, where.dir.c_str(), 0700) == 0;
  if (!created_dir && errno != EEXIST) return fail(base::ErrnoStatus(errno, "mkdir"));
  auto dir = OpenDirAt(meta_fd_, where.dir);
  if (!dir.ok()) return fail(dir.status());
  if (created_dir && durability == Durability::kFileAndDir) {
    st = Fsync(meta_fd_, "sidecar directory");
    if (!st.ok()) return fail(st);
  }
  if (::renameat(tmp_fd_, tmp.c_str(), dir->get(), where.file.c_str()) != 0) {
    return fail(base::ErrnoStatus(errno, "rename"));
  }
  if (durability == Durability::kFileAndDir) return Fsync(dir->get(), "sidecar directory");
  return Status::Ok();
}

}  // namespace shadowfs::blobstore::localdir
