// `shadowfs warmup PATH...`: builds the shadows of files and directories (recursively) now,
// through the running mount's Materializer, with a progress bar on a terminal (bytes, files,
// rate, ETA) and plain lines otherwise. Part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace shadowfs::cli {

struct WarmupCommandOptions {
  std::vector<std::string> paths;
  bool json = false;
};

CLI::App* AddWarmupCommand(CLI::App& app, WarmupCommandOptions* options);

// 0 when every file was shadowed; 1 naming each file that failed (or if nothing could start).
int RunWarmupCommand(const WarmupCommandOptions& options);

}  // namespace shadowfs::cli
