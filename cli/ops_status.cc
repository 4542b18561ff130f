// The ops that report: stats (hit ratio, bytes by source, prediction, reconciler, store usage,
// uploads, errors) and status (health: primary reachable, pending uploads, last error). Counters
// are read from the metrics registry's Prometheus export, so no op registers a metric it reads.
#include <unistd.h>

#include <map>
#include <sstream>

#include "cli/ops_service.h"
#include "cli/parse_duration.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

// "name{labels} value" lines of the export, by "name{labels}".
class MetricValues {
 public:
  explicit MetricValues(const base::MetricsRegistry* registry) {
    if (registry == nullptr) return;
    std::istringstream in(registry->ExportPrometheus());
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      size_t space = line.rfind(' ');
      if (space == std::string::npos) continue;
      try {
        values_[line.substr(0, space)] = std::stod(line.substr(space + 1));
      } catch (const std::exception&) {
        // NaN/Inf spellings stod rejects: not a value stats reports.
      }
    }
  }
  // The value of exactly "name{labels}" (labels rendered as the registry does), if exported.
  std::optional<double> Get(const std::string& series) const {
    auto it = values_.find(series);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  // The sum over every label set of `name` whose labels do not contain `exclude`.
  std::optional<double> Sum(const std::string& name, const std::string& exclude = "") const {
    std::optional<double> sum;
    for (auto it = values_.lower_bound(name); it != values_.end(); ++it) {
      const std::string& series = it->first;
      if (!series.starts_with(name)) break;
      if (series.size() != name.size() && series[name.size()] != '{') continue;
      if (!exclude.empty() && series.find(exclude) != std::string::npos) continue;
      sum = sum.value_or(0) + it->second;
    }
    return sum;
  }

 private:
  std::map<std::string, double> values_;
};

Json OrNull(std::optional<double> v) { return v ? Json(*v) : Json(nullptr); }

uint64_t Count(std::optional<double> v) { return v ? static_cast<uint64_t>(*v) : 0; }

Result<Json> Stats(const OpsContext& c) {
  MetricValues m(c.metrics);
  std::optional<fs::FileSystem::Stats> fs;
  if (c.fs_stats) fs = c.fs_stats();
  // Reads served from a shadow vs from the primary. The read path's own counters when the mount
  // exports them; otherwise the shadow store's outcomes (every read consults it first).
  std::optional<double> shadow_reads = m.Get("shadowfs_shadow_hits_total");
  if (!shadow_reads) shadow_reads = m.Get("shadowfs_shadow_reads_total{result=\"hit\"}");
  std::optional<double> primary_reads = m.Get("shadowfs_primary_reads_total");
  if (!primary_reads) primary_reads = m.Sum("shadowfs_shadow_reads_total", "result=\"hit\"");
  double reads = shadow_reads.value_or(0) + primary_reads.value_or(0);
  std::optional<double> shadow_bytes = m.Get("shadowfs_read_bytes_total{source=\"shadow\"}");
  if (!shadow_bytes) shadow_bytes = m.Get("shadowfs_shadow_bytes_served_total");
  std::optional<double> primary_bytes = m.Get("shadowfs_read_bytes_total{source=\"primary\"}");

  Json prediction = nullptr;
  if (c.prediction) prediction = c.prediction();
  std::optional<double> last_cycle = m.Get("shadowfs_reconcile_last_cycle_timestamp_seconds");
  Json reconciler = {
      {"lag_seconds", OrNull(m.Get("shadowfs_reconcile_lag_seconds"))},
      {"last_cycle", last_cycle && *last_cycle > 0
                         ? Json(FormatTime(base::WallTime(
                               std::chrono::seconds(static_cast<int64_t>(*last_cycle)))))
                         : Json(nullptr)},
      {"cycles", Count(m.Get("shadowfs_reconcile_cycles_total"))},
  };
  auto pending = c.store->PendingWriteIntents();
  uint64_t pending_uploads = fs ? fs->pending_uploads : (pending.ok() ? pending->size() : 0);
  Json errors = {
      {"reconcile", Count(m.Get("shadowfs_reconcile_errors_total"))},
      {"corrupt_chunks", Count(m.Get("shadowfs_shadow_corrupt_chunks_total"))},
      {"fill_failures", Count(m.Get("shadowfs_shadow_fill_failures_total"))},
      {"write_conflicts", fs ? fs->conflicts : 0},
  };
  if (c.materializer) errors["materialize_failures"] = c.materializer->stats().failed;
  std::vector<shadow::ShadowInfo> all = c.store->List("");
  return Json{
      {"reads", {{"from_shadow", Count(shadow_reads)}, {"from_primary", Count(primary_reads)}}},
      {"hit_ratio", reads > 0 ? Json(shadow_reads.value_or(0) / reads) : Json(nullptr)},
      {"bytes", {{"from_shadow", Count(shadow_bytes)}, {"from_primary", OrNull(primary_bytes)}}},
      {"prediction", prediction},
      {"reconciler", reconciler},
      {"store",
       {{"used_bytes", c.store->used_bytes()},
        {"capacity_bytes", c.store->capacity_bytes()},
        {"shadows", all.size()},
        {"dir", c.store_dir}}},
      {"pending_uploads", pending_uploads},
      {"errors", errors},
      {"mounted", static_cast<bool>(c.fs_stats)},
  };
}

Result<Json> StatusOp(const OpsContext& c, PrimaryProbe* probe, const Json& args) {
  Json out = {{"pid", ::getpid()}, {"store", c.store_dir}, {"mountpoint", c.mountpoint}};
  if (probe == nullptr) {
    out["primary_reachable"] = nullptr;
  } else {
    int64_t ms = args.value("timeout_ms", int64_t{3000});
    Status s = probe->Check(std::chrono::milliseconds(std::clamp<int64_t>(ms, 1, 60000)));
    out["primary_reachable"] = s.ok();
    out["primary_error"] = s.ok() ? Json(nullptr) : Json(s.message());
  }
  if (c.primary) out["primary"] = c.primary->Describe();
  auto intents = c.store->PendingWriteIntents();
  if (!intents.ok()) return intents.status();
  out["pending_uploads"] = c.fs_stats ? c.fs_stats().pending_uploads : intents->size();
  // The most recent failure an upload met, if one is still queued.
  Json last_error = nullptr;
  for (const shadow::WriteIntent& w : *intents) {
    if (!w.last_error.empty()) last_error = w.key + ": " + w.last_error;
  }
  out["last_error"] = last_error;
  return out;
}

}  // namespace

void RegisterStatusOps(OpsService& service, PrimaryProbe* probe) {
  const OpsContext* c = &service.context();
  service.Register("stats", [c](const Json&, const auto&) { return Stats(*c); });
  service.Register("status",
                   [c, probe](const Json& a, const auto&) { return StatusOp(*c, probe, a); });
}

}  // namespace shadowfs::cli
