#include "cli/mount_registry.h"

#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/mount_command.h"
#include "cli/ops_format.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

bool PidAlive(pid_t pid) { return pid > 0 && (::kill(pid, 0) == 0 || errno == EPERM); }

std::optional<MountRecord> ReadRecord(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  MountRecord r;
  try {
    r.pid = j.at("pid").get<pid_t>();
    r.mountpoint = j.at("mountpoint").get<std::string>();
    r.primary = j.at("primary").get<std::string>();
    r.store_dir = j.at("store").get<std::string>();
    r.socket = j.at("socket").get<std::string>();
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // someone else's file, or a torn one: not a record
  }
  return r;
}

std::string Canonical(const std::string& path) {
  std::filesystem::path p = std::filesystem::absolute(path).lexically_normal();
  // Resolve the deepest existing ancestor; keep the rest as typed (a file being dropped may be
  // gone already).
  std::filesystem::path rest;
  while (!p.empty()) {
    char resolved[PATH_MAX];
    if (::realpath(p.c_str(), resolved) != nullptr) {
      std::filesystem::path out = resolved;
      if (!rest.empty()) out /= rest;
      std::string s = out.lexically_normal().string();
      if (s.size() > 1 && s.back() == '/') s.pop_back();
      return s;
    }
    if (p == p.root_path()) break;
    rest = rest.empty() ? p.filename() : p.filename() / rest;
    p = p.parent_path();
  }
  return std::filesystem::absolute(path).lexically_normal().string();
}

}  // namespace

MountRegistration::~MountRegistration() {
  if (!path_.empty()) ::unlink(path_.c_str());
}

Status MountRegistration::Write(const MountRecord& record) {
  std::string path = RegistryFilePath(record.mountpoint);
  nlohmann::json j = {{"pid", record.pid},
                      {"mountpoint", record.mountpoint},
                      {"primary", record.primary},
                      {"store", record.store_dir},
                      {"socket", record.socket}};
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << DumpJson(j) << "\n";
    out.close();
    if (!out) return Status::IOError("cannot write the mount registry file " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Status::IOError("cannot write the mount registry file " + path);
  }
  path_ = path;
  return Status::Ok();
}

std::string RegistryFilePath(const std::string& mountpoint) {
  std::string pid_file = PidFilePath(mountpoint);
  return pid_file.substr(0, pid_file.size() - 4) + ".json";
}

std::vector<MountRecord> ListMounts() {
  std::vector<MountRecord> out;
  std::filesystem::path dir = std::filesystem::path(PidFilePath("/")).parent_path();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::optional<MountRecord> r = ReadRecord(entry.path());
    if (r && PidAlive(r->pid)) out.push_back(std::move(*r));
  }
  std::sort(out.begin(), out.end(),
            [](const MountRecord& a, const MountRecord& b) { return a.mountpoint < b.mountpoint; });
  return out;
}

Result<MountedPath> ResolveMountedPath(const std::string& path) {
  std::string canonical = Canonical(path);
  std::optional<MountedPath> best;
  for (MountRecord& m : ListMounts()) {
    const std::string& mp = m.mountpoint;
    bool inside = canonical == mp ||
                  (canonical.starts_with(mp) && (mp == "/" || canonical[mp.size()] == '/'));
    if (!inside || (best && best->mount.mountpoint.size() >= mp.size())) continue;
    std::string rel = canonical == mp ? "" : canonical.substr(mp == "/" ? 1 : mp.size() + 1);
    best = MountedPath{std::move(m), std::move(rel)};
  }
  if (!best) {
    return Status::NotFound("'" + path +
                            "' is not inside a running shadowfs mount (mounts are listed in " +
                            std::filesystem::path(PidFilePath("/")).parent_path().string() + ")");
  }
  return std::move(*best);
}

std::optional<MountRecord> FindMountOfStore(const std::string& store_dir) {
  std::string canonical = Canonical(store_dir);
  for (MountRecord& m : ListMounts()) {
    if (Canonical(m.store_dir) == canonical) return std::move(m);
  }
  return std::nullopt;
}

}  // namespace shadowfs::cli
