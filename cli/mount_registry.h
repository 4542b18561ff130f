// The registry of running mounts: each mount, once ready, writes a small JSON file beside its
// pid file (PidFilePath's directory: /run/shadowfs for root) naming its pid, mount point, primary,
// store and control socket, and removes it at exit. The CLI finds the mount that holds a user's
// path there. A file whose pid is dead (a crashed mount) is stale: ignored, never trusted.
//
// MountRegistration is owned by the mount's main thread; the free functions are thread-safe.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "blobstore/base/result.h"

namespace shadowfs::cli {

struct MountRecord {
  pid_t pid = 0;
  std::string mountpoint;  // canonical
  std::string primary;     // URL
  std::string store_dir;
  std::string socket;  // the control socket
};

// Writes the record (atomically: temp file + rename) and removes it when destroyed.
class MountRegistration {
 public:
  MountRegistration() = default;
  ~MountRegistration();
  MountRegistration(const MountRegistration&) = delete;
  MountRegistration& operator=(const MountRegistration&) = delete;

  base::Status Write(const MountRecord& record);

 private:
  std::string path_;
};

// The registry file of a mount point: PidFilePath(mountpoint) with ".json" for ".pid".
std::string RegistryFilePath(const std::string& mountpoint);

// The records in this user's registry directory whose pid is alive, by mount point.
std::vector<MountRecord> ListMounts();

// A path inside a mount: the mount and the path relative to its root ("" for the root itself,
// "dir/file" otherwise).
struct MountedPath {
  MountRecord mount;
  std::string relative;
};

// Resolves `path` (which need not exist: its deepest existing ancestor is resolved) to the live
// mount whose mount point is its longest prefix. NotFound with a message a user can act on if
// no running mount holds it.
base::Result<MountedPath> ResolveMountedPath(const std::string& path);

// The live mount serving `store_dir` (compared canonically), if any.
std::optional<MountRecord> FindMountOfStore(const std::string& store_dir);

}  // namespace shadowfs::cli
