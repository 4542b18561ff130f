// How a mount or a reconcile service exports its metrics (the registry in its Runtime), as the
// options ask: `--metrics-addr` serves them over HTTP on loopback (cli/metrics_server.h),
// `--metrics-textfile` writes them for node_exporter's textfile collector every 15 s and at exit,
// atomically (a temporary file in the same directory, renamed over the old one, so the collector
// never reads half a file). A collector (gauges read on demand: store capacity, pending
// uploads) runs before every export and is removed before MetricsExport is destroyed.
//
// Thread-safe: constructed and destroyed by one thread; exports from its own threads.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "blobstore/base/metrics.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "cli/metrics_server.h"

namespace shadowfs::shadow {
class ShadowStore;
}

namespace shadowfs::fs {
class FileSystem;
}

namespace shadowfs::cli {

struct MetricsExportOptions {
  std::string address;   // --metrics-addr; empty: no server
  std::string textfile;  // --metrics-textfile; empty: no file
  std::chrono::milliseconds textfile_interval{15000};
};

// Writes `text` to `path` through PATH.tmp-PID in the same directory and a rename.
base::Status WriteFileAtomically(const std::string& path, const std::string& text);

class MetricsTextfile {
 public:
  // Writes the file once now (errors name the path), then every `interval` from a thread
  // "metrics-file".
  static base::Result<std::unique_ptr<MetricsTextfile>> Start(std::string path,
                                                              std::chrono::milliseconds interval,
                                                              base::Runtime runtime);
  ~MetricsTextfile();  // stops the thread, then writes the final values
  MetricsTextfile(const MetricsTextfile&) = delete;
  MetricsTextfile& operator=(const MetricsTextfile&) = delete;

 private:
  MetricsTextfile(std::string path, std::chrono::milliseconds interval, base::Runtime runtime);
  void Run();
  base::Status Write();

  const std::string path_;
  const std::chrono::milliseconds interval_;
  const base::Runtime runtime_;
  base::Mutex mu_;
  base::CondVar cv_;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the members above exist
};

class MetricsExport {
 public:
  // `collector` may be empty. Nothing asked for: a MetricsExport that does nothing.
  static base::Result<std::unique_ptr<MetricsExport>> Start(const MetricsExportOptions& options,
                                                            base::Runtime runtime,
                                                            std::function<void()> collector);
  ~MetricsExport();  // server first, then the textfile's last write, then the collector
  MetricsExport(const MetricsExport&) = delete;
  MetricsExport& operator=(const MetricsExport&) = delete;

  uint16_t port() const { return server_ ? server_->port() : 0; }

 private:
  explicit MetricsExport(base::MetricsRegistry* registry) : registry_(registry) {}

  base::MetricsRegistry* const registry_;
  uint64_t collector_id_ = 0;
  std::unique_ptr<MetricsTextfile> textfile_;
  std::unique_ptr<MetricsServer> server_;
};

// Collectors of the gauges a mount and a reconcile service export on demand:
// shadowfs_shadow_store_capacity_bytes (the cap; the bytes used are shadowfs_shadow_store_bytes,
// kept current by the store) and, for a mount, shadowfs_pending_uploads. Both pointees must
// outlive the MetricsExport that runs the collector.
std::function<void()> StoreCollector(shadow::ShadowStore* store, base::MetricsRegistry* registry);
std::function<void()> MountCollector(fs::FileSystem* filesystem, shadow::ShadowStore* store,
                                     base::MetricsRegistry* registry);

}  // namespace shadowfs::cli
