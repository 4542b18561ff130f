#include "cli/reconcile_command.h"

#include <signal.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "blobstore/reconcile/reconciler.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"
#include "cli/metrics_export.h"
#include "cli/ops_format.h"
#include "cli/parse_size.h"
#include "cli/systemd_notify.h"

namespace shadowfs::cli {

using base::Result;
using base::Status;

namespace {

nlohmann::json ReportJson(const reconcile::CycleReport& r) {
  nlohmann::json j = {
      {"shadows", r.shadows},
      {"list_requests", r.list_requests},
      {"matched", r.matched},
      {"changed", r.changed},
      {"deleted", r.deleted},
      {"rematerialized", r.rematerialized},
      {"skipped", r.skipped},
      {"store_errors", r.store_errors},
      {"expired", r.maintenance.expired},
      {"evicted", r.maintenance.evicted},
      {"orphans_removed", r.maintenance.orphans_removed},
      {"chunks_scrubbed", r.maintenance.chunks_scrubbed},
      {"corrupt_chunks", r.maintenance.corrupt_chunks},
      {"lag_seconds", r.lag_seconds},
      {"duration_ms", r.duration.count()},
  };
  j["error"] = r.error.ok() ? nlohmann::json(nullptr) : nlohmann::json(r.error.ToString());
  return j;
}

std::string ReportLine(const reconcile::CycleReport& r) {
  return std::to_string(r.shadows) + " shadows, " + std::to_string(r.list_requests) +
         " list requests: " + std::to_string(r.matched) + " matched, " + std::to_string(r.changed) +
         " changed, " + std::to_string(r.deleted) + " deleted, " +
         std::to_string(r.rematerialized) + " rematerialized, " +
         std::to_string(r.maintenance.expired) + " expired, " +
         std::to_string(r.maintenance.evicted) + " evicted, " +
         std::to_string(r.maintenance.orphans_removed) + " orphans removed, " +
         std::to_string(r.maintenance.chunks_scrubbed) + " chunks scrubbed (" +
         std::to_string(r.maintenance.corrupt_chunks) + " corrupt) in " +
         std::to_string(r.duration.count()) + " ms";
}

int Fail(const Status& status) {
  std::cerr << "shadowfs reconcile: " << status.message() << "\n";
  return 1;
}

// The store is held by a mount (which reconciles it itself) or another reconciler: EX_TEMPFAIL,
// so the timer's unit counts a skipped run as done and the service retries later.
int FailOpen(const Status& status) {
  Fail(status);
  return status.code() == base::StatusCode::kAlreadyExists ? 75 : 1;
}

// Blocks until SIGTERM or SIGINT (blocked in every thread since before any was started). Under
// systemd it wakes every few seconds meanwhile, to send the watchdog keep-alive (at half of
// WatchdogSec=) and, when a cycle has ended since, that cycle's summary as the unit's status.
void WaitForTermination(const sigset_t& signals, const reconcile::Reconciler& reconciler,
                        const base::Counter& cycles) {
  if (!UnderServiceManager()) {
    int signal = 0;
    while (sigwait(&signals, &signal) != 0) {
    }
    return;
  }
  const std::chrono::microseconds ping = WatchdogPingInterval();
  std::chrono::microseconds period = std::chrono::seconds(5);
  if (ping.count() > 0 && ping < period) period = ping;
  const timespec timeout = {static_cast<time_t>(period.count() / 1000000),
                            static_cast<long>(period.count() % 1000000) * 1000};
  std::string sent;
  for (;;) {
    if (ping.count() > 0) NotifyWatchdog();
    // The counter moves when a cycle ends; last_report may trail it by a moment, and the next
    // wake-up then sends the newer line.
    if (cycles.value() > 0) {
      reconcile::CycleReport report = reconciler.last_report();
      std::string line = report.error.ok() ? "last cycle: "
                                           : "last cycle failed (" + report.error.message() + "): ";
      line += ReportLine(report);
      if (line != sent) NotifyStatus(line);
      sent = std::move(line);
    }
    int signal = sigtimedwait(&signals, nullptr, &timeout);
    if (signal == SIGTERM || signal == SIGINT) return;
  }
}

}  // namespace

CLI::App* AddReconcileCommand(CLI::App& app, ReconcileCommandOptions* o) {
  auto* cmd = app.add_subcommand(
      "reconcile",
      "Check a shadow store against its primary: refresh matching shadows, drop changed and "
      "deleted ones, expire, evict, remove orphans and scrub");
  cmd->add_option("--store", o->store_dir, "The shadow store directory")->required();
  cmd->add_option("primary", o->primary.url, "file:///dir, s3://bucket[/prefix] or mem://")
      ->required();
  auto* once = cmd->add_flag("--once", o->once, "Run one cycle, print a summary and exit");
  cmd->add_option("--interval", o->interval_seconds, "Seconds between cycles")
      ->capture_default_str()
      ->check(CLI::Range(1, 7 * 86400).description("1 second to 7 days"))
      ->excludes(once);
  cmd->add_option("--cache-size", o->cache_size,
                  "The store's byte cap, enforced by eviction (K, M, G, T suffixes)")
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "With --once: print the summary as a JSON object")->needs(once);
  cmd->add_option("--metrics-addr", o->metrics_addr,
                  "Serve Prometheus metrics at http://HOST:PORT/metrics (loopback only: "
                  "127.0.0.1:PORT or [::1]:PORT)");
  cmd->add_option("--metrics-textfile", o->metrics_textfile,
                  "Write the metrics to this file (node_exporter's textfile collector, *.prom) "
                  "every 15 s and at exit");
  AddPrimaryFlags(cmd, &o->primary);
  return cmd;
}

int RunReconcileCommand(const ReconcileCommandOptions& o, base::Runtime runtime) {
  // Signals are taken synchronously by this thread: block them before any thread exists, so
  // every thread inherits the mask and none is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  if (!o.once) {
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  }

  auto capacity = ParseSize(o.cache_size);
  if (!capacity.ok()) return Fail(capacity.status());
  auto primary = OpenPrimary(o.primary, runtime);
  if (!primary.ok()) return Fail(primary.status());

  shadow::ShadowStoreOptions store_options;
  store_options.dir = o.store_dir;
  store_options.capacity_bytes = *capacity;
  auto store = shadow::ShadowStore::Open(store_options, runtime);
  if (!store.ok()) return FailOpen(store.status());

  // No prediction engine runs here, so nothing scores reuse: the materializer only refetches
  // changed shadows that are pinned.
  shadow::Materializer materializer(primary->store.get(), store->get(), {}, runtime);

  reconcile::ReconcilerOptions options;
  options.store_dir = o.store_dir;
  options.interval = std::chrono::seconds(o.interval_seconds);
  auto reconciler = reconcile::Reconciler::Create(primary->store.get(), store->get(), &materializer,
                                                  nullptr, options, runtime);
  if (!reconciler.ok()) return FailOpen(reconciler.status());
  // With --once too: a timer-run cycle leaves its results in the textfile.
  auto metrics_export =
      MetricsExport::Start({.address = o.metrics_addr, .textfile = o.metrics_textfile}, runtime,
                           StoreCollector(store->get(), runtime.metrics));
  if (!metrics_export.ok()) return Fail(metrics_export.status());

  if (o.once) {
    reconcile::CycleReport report = (*reconciler)->RunCycle();
    materializer.Drain();
    if (o.json) {
      std::cout << DumpJson(ReportJson(report)) << "\n";
    } else {
      std::cout << ReportLine(report) << "\n";
    }
    if (!report.error.ok()) return Fail(report.error);
    return 0;
  }

  (*reconciler)->Start();
  // The store is open and its reconcile lock held: a Type=notify unit is up.
  std::string what = "reconciling " + o.store_dir + " against " + primary->store->Describe() +
                     " every " + std::to_string(o.interval_seconds) + " s";
  NotifyStatus(what);
  NotifyReady();
  runtime.logger->Log(base::LogLevel::kInfo, what);
  WaitForTermination(
      signals, **reconciler,
      runtime.metrics->GetCounter("shadowfs_reconcile_cycles_total", "Reconcile cycles run"));
  NotifyStopping();
  // Tear down in reverse order of construction.
  (*reconciler)->Stop();
  return 0;
}

}  // namespace shadowfs::cli
