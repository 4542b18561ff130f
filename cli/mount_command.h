// `shadowfs mount PRIMARY MOUNTPOINT` (and `mount.shadowfs`, as mount(8) runs it for fstab):
// builds a primary, a shadow store, the filesystem core and a reconciler, and serves them through
// FUSE until unmounted. Without --foreground it forks before any thread exists; the child becomes
// the daemon and tells the parent "ready" or what failed through a pipe, so the command exits 0
// only once the filesystem is mounted. Part of the composition root.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "cli/primary.h"

namespace shadowfs::cli {

struct MountCommandOptions {
  PrimaryOptions primary;
  std::string mountpoint;
  std::string store_dir;  // empty: DefaultStoreDir(primary URL, mountpoint)
  std::string cache_size = "10G";
  double min_confidence = 0.9;
  std::string conflict = "copy";
  std::string compress = "auto";
  bool writeback = false;
  bool foreground = false;
  bool debug = false;             // libfuse's request trace
  std::string log_level;          // empty: the global --log-level
  std::string metrics_addr;       // loopback HOST:PORT serving /metrics; empty: none
  std::string metrics_textfile;   // node_exporter textfile; empty: none
  std::vector<std::string> o;     // -o values, each comma-separated
  std::string prediction = "on";  // on: prefetch what the engine predicts; off: learn only
  std::string access_log;         // record every read as a JSON line here; empty: none
  double time_scale = 1.0;        // hidden, for benchmarks: simulated seconds per real second
  std::string time_anchor;        // hidden, for benchmarks: "REAL,SIM" (see ScaledClock)
  double primary_latency_ms = 0;  // hidden, for tests: added to every request to the primary
};

// Adds the `mount` subcommand to `app`, filling `options`.
CLI::App* AddMountCommand(CLI::App& app, MountCommandOptions* options);

// Runs it from the main thread before any other thread exists. 0 once mounted (daemon) or after
// a clean unmount (--foreground); 1 with one line on stderr on failure; 2 for bad options.
int RunMountCommand(MountCommandOptions options, const std::string& global_log_level);

// Where the store of a mount lives unless --store says: /var/lib/shadowfs/stores/NAME for root,
// $XDG_CACHE_HOME/shadowfs/stores/NAME (~/.cache/...) otherwise; NAME is derived from both.
std::string DefaultStoreDir(const std::string& primary_url, const std::string& mountpoint);

// The daemon's pid file for a mount point: /run/shadowfs/ESCAPED.pid for root,
// $XDG_RUNTIME_DIR/shadowfs/ESCAPED.pid (or /tmp/shadowfs-UID/) otherwise.
std::string PidFilePath(const std::string& mountpoint);

// argv for `mount` from mount(8)'s `mount.shadowfs SPEC DIR [-sfnv] [-o OPTS]`: drops the
// options only mount(8) understands (_netdev, auto, nofail, x-systemd.*, ...).
std::vector<std::string> TranslateMountHelperArgs(int argc, char** argv);

}  // namespace shadowfs::cli
