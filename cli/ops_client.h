// OpsClient: where an operator command (`shadowfs shadow|warmup|stats|status`) sends its
// requests. A PATH inside a running mount goes to that mount's control socket, with the path
// relative to the mount root; `--store DIR` opens the store in this process and runs the
// OpsService here (when no mount holds it; otherwise the holder's socket answers, since a store
// is open in one process at a time). Owned by one command on one thread.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "blobstore/base/clock.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"
#include "blobstore/base/result.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/mount_registry.h"
#include "cli/ops_service.h"

namespace shadowfs::cli {

class OpsClient {
 public:
  // `path`: a path inside a mount (empty: the current directory, or the only running mount).
  // `store_dir` (may be empty): a store; `path` is then a key path in it ("" = every shadow).
  static base::Result<std::unique_ptr<OpsClient>> Connect(const std::string& path,
                                                          const std::string& store_dir);
  // The client of a known mount (status uses every mount of the registry).
  static std::unique_ptr<OpsClient> ForMount(MountRecord mount);
  ~OpsClient();

  // Sends {"op": op, "args": args + the target} and returns the result, or the error the mount
  // or the service gave as a Status (one line). `progress` sees each progress report.
  base::Result<Json> Call(const std::string& op, Json args,
                          const std::function<void(const Json&)>& progress = {},
                          std::chrono::milliseconds idle_timeout = std::chrono::seconds(60));

  // {"path": relative} for a mount, {"key": key} for a store.
  const Json& target() const { return target_; }
  bool in_process() const { return service_ != nullptr; }
  // The mount point or the store directory, for messages.
  const std::string& where() const { return where_; }
  const std::string& socket() const { return socket_; }

 private:
  OpsClient() = default;

  Json target_;
  std::string where_;
  std::string socket_;  // empty when in process
  // In process: a runtime of our own, the store, the service (destroyed in reverse).
  base::SystemClock clock_;
  std::unique_ptr<base::StderrLogger> logger_;
  base::MetricsRegistry metrics_;
  std::unique_ptr<shadow::ShadowStore> store_;
  std::unique_ptr<OpsService> service_;
};

}  // namespace shadowfs::cli
