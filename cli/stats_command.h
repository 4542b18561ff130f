// `shadowfs stats [PATH] [--watch [SECONDS]] [--json]`: a mount's (or, with --store, a store's)
// hit ratio, bytes by source, prediction precision and coverage, reconciler lag, store usage,
// pending uploads and errors; --watch redraws like top until interrupted. `shadowfs status
// [--json]`: the health of every running mount. Part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace shadowfs::cli {

struct StatsCommandOptions {
  std::string path;
  std::string store_dir;
  bool json = false;
  double watch_seconds = 0;  // 0: once
};

CLI::App* AddStatsCommand(CLI::App& app, StatsCommandOptions* options);
int RunStatsCommand(const StatsCommandOptions& options);

struct StatusCommandOptions {
  bool json = false;
};

CLI::App* AddStatusCommand(CLI::App& app, StatusCommandOptions* options);
// 0 when every mount is healthy (or none runs); 1 if a mount's primary is unreachable or a
// mount does not answer.
int RunStatusCommand(const StatusCommandOptions& options);

}  // namespace shadowfs::cli
