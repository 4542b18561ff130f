// `shadowfs reconcile`: the standalone reconciler of a shadow store (DESIGN.md section 7). Runs
// one cycle (--once) and reports it, or cycles every --interval until SIGTERM or SIGINT. Builds
// its own primary, store, materializer and reconciler; part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "blobstore/base/runtime.h"
#include "cli/primary.h"

namespace shadowfs::cli {

struct ReconcileCommandOptions {
  PrimaryOptions primary;
  std::string store_dir;
  std::string cache_size = "10G";
  bool once = false;
  int64_t interval_seconds = 60;
  bool json = false;
  std::string metrics_addr;      // loopback HOST:PORT serving /metrics; empty: none
  std::string metrics_textfile;  // node_exporter textfile; empty: none
};

// Adds the `reconcile` subcommand to `app`, filling `options`.
CLI::App* AddReconcileCommand(CLI::App& app, ReconcileCommandOptions* options);

// Runs it from the main thread: 0 on success (--once: the cycle had no error), 75 if another
// process holds the store, 1 otherwise, with one line on stderr for any failure. Without --once,
// blocks SIGTERM and SIGINT in every thread and waits for them here, telling systemd (when it
// started us) that it is ready, the last cycle's summary, watchdog keep-alives and stopping.
int RunReconcileCommand(const ReconcileCommandOptions& options, base::Runtime runtime);

}  // namespace shadowfs::cli
