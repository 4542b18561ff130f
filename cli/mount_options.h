// The -o option list of `shadowfs mount` / `mount.shadowfs`, split into what shadowfs consumes
// (every flag of the command, by the same name without dashes), what the filesystem core takes
// (uid=, gid=, umask=, ro), what only mount(8) understands (dropped), and what goes to FUSE.
// Pure functions over values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "blobstore/base/status.h"
#include "cli/mount_command.h"

namespace shadowfs::cli {

struct MountOptionEffects {
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint32_t> umask;
  bool read_only = false;
  std::vector<std::string> fuse_options;  // passed through to libfuse and the kernel
};

// Applies every -o entry in `options->o` to `options` (overriding the flags) and returns the
// rest. InvalidArgument naming the option for a malformed value.
base::Status ApplyMountOptions(MountCommandOptions* options, MountOptionEffects* effects);

}  // namespace shadowfs::cli
