// `shadowfs unmount MOUNTPOINT`: unmounts a shadowfs mount (umount2 as root, fusermount3 -u
// otherwise) and waits for its daemon to finish the pending uploads and exit, so that when it
// returns 0 every write is in the primary (or queued in the store if the primary is down).
// Sending SIGTERM to the daemon has the same effect without the wait.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace shadowfs::cli {

struct UnmountCommandOptions {
  std::string mountpoint;
  bool lazy = false;            // detach now even if files are open (umount -l)
  int64_t timeout_seconds = 0;  // 0: wait for the daemon as long as it takes
};

CLI::App* AddUnmountCommand(CLI::App& app, UnmountCommandOptions* options);

// 0 when unmounted and the daemon has exited; 1 with one line on stderr otherwise.
int RunUnmountCommand(const UnmountCommandOptions& options);

}  // namespace shadowfs::cli
