// OpsService: the operator requests of `shadowfs shadow|warmup|stats|status` (DESIGN.md section
// 8), as named handlers from a JSON request to a JSON result. The same service runs inside a
// mount behind the control socket (cli/control_server.h) and in the CLI process on a store that
// no mount holds. Protocol and ops: cli/README.md.
//
// Extensible: Register adds or replaces an op (the lead adds `predict.show`). Register every op
// before the first Handle; Handle is then thread-safe (handlers run concurrently on the control
// server's connection threads; everything they reach is thread-safe).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "blobstore/base/metrics.h"
#include "blobstore/base/result.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/primary_probe.h"
#include "fs/file_system.h"

namespace shadowfs::cli {

using Json = nlohmann::json;

// What the handlers work on. Every pointer is borrowed and outlives the service.
struct OpsContext {
  shadow::ShadowStore* store = nullptr;             // required
  shadow::Materializer* materializer = nullptr;     // null: create and warmup say "needs a mount"
  blobstore::BlobStore* primary = nullptr;          // null: verify checks checksums only
  std::string prefix;                               // key prefix of the mount on the primary
  std::function<fs::FileSystem::Stats()> fs_stats;  // empty: no filesystem (offline)
  base::MetricsRegistry* metrics = nullptr;         // may be null
  std::function<Json()> prediction;                 // empty: prediction shows "n/a"
  std::string mountpoint;                           // empty offline
  std::string store_dir;
  base::Runtime runtime{};
};

class OpsService {
 public:
  // Called with each progress update of a long request (warmup, create); returns false when the
  // requester is gone or the server is stopping: the handler stops early.
  using Progress = std::function<bool(const Json&)>;
  using Handler = std::function<base::Result<Json>(const Json& args, const Progress& progress)>;

  // Registers the built-in ops: shadow.ls, shadow.show, shadow.create, shadow.drop, shadow.pin,
  // shadow.unpin, shadow.verify, warmup, stats, status.
  explicit OpsService(OpsContext context);
  ~OpsService();
  OpsService(const OpsService&) = delete;
  OpsService& operator=(const OpsService&) = delete;

  void Register(std::string op, Handler handler);

  // {"op": "...", "args": {...}} -> {"ok": true, "result": ...} or {"ok": false, "error": "..."}.
  // Never throws: malformed requests and handler failures are error replies.
  Json Handle(const Json& request, const Progress& progress = nullptr);

  const OpsContext& context() const { return context_; }

 private:
  OpsContext context_;
  std::map<std::string, Handler> handlers_;
  std::unique_ptr<PrimaryProbe> probe_;
};

// Registration of the built-in ops, by file.
void RegisterShadowOps(OpsService& service);                       // ops_shadow.cc
void RegisterWarmupOps(OpsService& service);                       // ops_warmup.cc
void RegisterStatusOps(OpsService& service, PrimaryProbe* probe);  // ops_status.cc

// Helpers shared by the op files.
namespace ops {
// The primary key an op names: args.key as is, or the mount's prefix + args.path.
base::Result<std::string> KeyOf(const OpsContext& context, const Json& args);
// A shadow's metadata as JSON (times as RFC 3339, null when unset).
Json ShadowJson(const OpsContext& context, const shadow::ShadowInfo& info);
// The shadows of `key` or under `key`/ (all of the mount's when key is the prefix itself).
std::vector<shadow::ShadowInfo> ShadowsAt(const OpsContext& context, const std::string& key);
}  // namespace ops

}  // namespace shadowfs::cli
