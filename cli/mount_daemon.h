// The body of a mount: composes primary -> shadow store -> materializer -> event ring ->
// filesystem core -> reconciler -> FUSE session, serves until unmounted or signalled, and tears
// down in reverse order, finishing pending uploads. Runs in the daemon child (or in the
// foreground process) on its main thread, with SIGTERM/SIGINT/SIGHUP blocked by the caller.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "blobstore/base/logging.h"
#include "blobstore/base/result.h"
#include "blobstore/base/unique_fd.h"
#include "cli/mount_command.h"
#include "cli/mount_options.h"
#include "fs/file_system.h"
#include "fs/fuse_adapter.h"

namespace shadowfs::cli {

// Everything a mount needs, validated: built before forking, so bad input fails in the parent.
struct DaemonConfig {
  PrimaryOptions primary;
  std::string mountpoint;  // canonical
  std::string store_dir;
  uint64_t cache_bytes = 0;
  double min_confidence = 0.9;
  // The store's compression (--compress): raw below this share of the cap (0: always
  // compressed), or never compressed.
  double raw_below_fill = 0.5;
  bool compress = true;
  base::LogLevel log_level = base::LogLevel::kWarning;
  fs::FileSystemOptions fs;
  fs::FuseMountOptions fuse;
  std::string pid_file;
  std::string metrics_addr;      // validated loopback address, or empty
  std::string metrics_textfile;  // absolute, or empty
  bool prediction = true;
  std::string access_log;   // absolute, or empty
  double time_scale = 1.0;  // > 0; != 1 runs the calendar clock faster (benchmarks only)
  // With time_scale: the calendar reads the second at the real time the first (benchmarks).
  std::optional<std::pair<base::WallTime, base::WallTime>> time_anchor;
  std::chrono::microseconds primary_latency{0};  // tests: a slow primary without a proxy
};

base::Result<DaemonConfig> MakeDaemonConfig(const MountCommandOptions& options,
                                            const MountOptionEffects& effects,
                                            base::LogLevel level);

// Returns the exit code. `ready` (may be invalid: foreground) receives "ready" once mounted, or
// the error message if setting up fails; it is closed either way.
int RunMountDaemon(const DaemonConfig& config, base::UniqueFd ready);

}  // namespace shadowfs::cli
