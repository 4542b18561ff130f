#include "blobstore/reconcile/reconciler.h"

#include <algorithm>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "blobstore/base/executor.h"
#include "blobstore/base/mutex.h"
#include "blobstore/base/pid_lock.h"
#include "blobstore/reconcile/list_walk.h"

namespace shadowfs::reconcile {

using base::Result;
using base::Status;
using blobstore::ObjectInfo;
using shadow::ShadowInfo;

namespace {

struct Metrics {
  explicit Metrics(base::MetricsRegistry& r)
      : cycles(r.GetCounter("shadowfs_reconcile_cycles_total", "Reconcile cycles run")),
        match(Checked(r, "match")),
        changed(Checked(r, "changed")),
        deleted(Checked(r, "deleted")),
        skipped(Checked(r, "skipped")),
        rematerialized(r.GetCounter("shadowfs_reconcile_rematerialized_total",
                                    "Changed shadows handed to the materializer")),
        list_requests(r.GetCounter("shadowfs_reconcile_list_requests_total",
                                   "ListObjectsV2 requests made by the reconciler")),
        errors(r.GetCounter("shadowfs_reconcile_errors_total",
                            "Listing, store and maintenance errors met by the reconciler")),
        last_cycle(r.GetGauge("shadowfs_reconcile_last_cycle_timestamp_seconds",
                              "When the last reconcile cycle ended (Unix time)")),
        lag(r.GetGauge("shadowfs_reconcile_lag_seconds",
                       "Age of the oldest last verification among shadows")),
        cycle_seconds(
            r.GetHistogram("shadowfs_reconcile_cycle_seconds", "Duration of reconcile cycles")) {}

  static base::Counter& Checked(base::MetricsRegistry& r, const char* result) {
    return r.GetCounter("shadowfs_reconcile_shadows_checked_total",
                        "Shadows compared with the primary, by outcome", {{"result", result}});
  }

  base::Counter& cycles;
  base::Counter& match;
  base::Counter& changed;
  base::Counter& deleted;
  base::Counter& skipped;
  base::Counter& rematerialized;
  base::Counter& list_requests;
  base::Counter& errors;
  base::Gauge& last_cycle;
  base::Gauge& lag;
  base::Histogram& cycle_seconds;
};

void AddMaintenance(shadow::ShadowStore::MaintenanceReport& to,
                    const shadow::ShadowStore::MaintenanceReport& from) {
  to.expired += from.expired;
  to.evicted += from.evicted;
  to.orphans_removed += from.orphans_removed;
  to.chunks_scrubbed += from.chunks_scrubbed;
  to.corrupt_chunks += from.corrupt_chunks;
}

}  // namespace

struct Reconciler::Impl {
  Impl(blobstore::BlobStore* primary, shadow::ShadowStore* store,
       shadow::Materializer* materializer, base::ReuseScorer* scorer, ReconcilerOptions options,
       base::Runtime runtime, std::unique_ptr<base::PidLock> lock)
      : primary(primary),
        store(store),
        materializer(materializer),
        scorer(scorer),
        options(std::move(options)),
        runtime(runtime),
        lock(std::move(lock)),
        metrics(*runtime.metrics) {}

  // `cancellable`: the background thread's cycles end early on Stop; a caller's run to the end.
  CycleReport RunCycle(bool cancellable) EXCLUDES(mu);
  CycleReport DoCycle(bool cancellable) EXCLUDES(mu);
  // What the listing said about one shadow (`listed` null: absent from a fully listed range).
  void Judge(const ShadowInfo& seen, const ObjectInfo* listed, base::WallTime when,
             CycleReport& report);
  void MaybeRematerialize(const ShadowInfo& old, const ObjectInfo& listed, base::WallTime now,
                          CycleReport& report);
  void StoreError(const Status& status, CycleReport& report);
  void Loop() EXCLUDES(mu);
  void RequestStop() EXCLUDES(mu);
  void Stop() EXCLUDES(mu);
  bool Stopping() EXCLUDES(mu) {
    base::MutexLock l(&mu);
    return stop;
  }

  blobstore::BlobStore* const primary;
  shadow::ShadowStore* const store;
  shadow::Materializer* const materializer;
  base::ReuseScorer* const scorer;
  const ReconcilerOptions options;
  const base::Runtime runtime;
  const std::unique_ptr<base::PidLock> lock;
  Metrics metrics;

  // Leaf lock; never held across a cycle's I/O (cycles serialize on cycle_running instead).
  base::Mutex mu;
  base::CondVar wake_cv;        // Stop wakes the thread between cycles
  base::CondVar cycle_done_cv;  // a cycle ended
  bool cycle_running GUARDED_BY(mu) = false;
  bool stop GUARDED_BY(mu) = false;
  CycleReport last GUARDED_BY(mu);
  std::thread thread;  // started and joined by the owner's thread (Start/Stop)
};

Result<std::unique_ptr<Reconciler>> Reconciler::Create(
    blobstore::BlobStore* primary, shadow::ShadowStore* store, shadow::Materializer* materializer,
    base::ReuseScorer* scorer, ReconcilerOptions options, base::Runtime runtime) {
  if (options.store_dir.empty()) {
    return Status::InvalidArgument("the reconciler needs the store directory for its lock");
  }
  SHADOWFS_ASSIGN_OR_RETURN(auto lock, base::PidLock::Acquire(options.store_dir + "/reconcile.lock",
                                                              "store " + options.store_dir +
                                                                  " is already being reconciled"));
  auto impl = std::make_unique<Impl>(primary, store, materializer, scorer, std::move(options),
                                     runtime, std::move(lock));
  return std::unique_ptr<Reconciler>(new Reconciler(std::move(impl)));
}

Reconciler::Reconciler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Reconciler::~Reconciler() { Stop(); }

CycleReport Reconciler::RunCycle() { return impl_->RunCycle(/*cancellable=*/false); }

void Reconciler::Start() {
  if (impl_->thread.joinable()) return;
  {
    base::MutexLock l(&impl_->mu);
    impl_->stop = false;
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

void Reconciler::RequestStop() { impl_->RequestStop(); }

void Reconciler::Stop() { impl_->Stop(); }

CycleReport Reconciler::last_report() const {
  base::MutexLock l(&impl_->mu);
  return impl_->last;
}

void Reconciler::Impl::RequestStop() {
  {
    base::MutexLock l(&mu);
    stop = true;
  }
  wake_cv.SignalAll();
}

void Reconciler::Impl::Stop() {
  RequestStop();
  if (thread.joinable()) thread.join();
}

void Reconciler::Impl::Loop() {
  base::SetThreadName("reconcile");
  while (!Stopping()) {
    CycleReport report = RunCycle(/*cancellable=*/true);
    // This thread is where a failed cycle is consumed; RunCycle's callers log their own.
    if (!report.error.ok() && !Stopping()) {
      runtime.logger->Log(base::LogLevel::kWarning,
                          "reconcile cycle failed: " + report.error.ToString());
    }
    base::MutexLock l(&mu);
    // Real time, not the injected clock: the wait only paces cycles and must wake on Stop.
    auto deadline = std::chrono::steady_clock::now() + options.interval;
    while (!stop) {
      auto left = deadline - std::chrono::steady_clock::now();
      if (left <= std::chrono::nanoseconds::zero()) break;
      wake_cv.WaitFor(&mu, left);
    }
  }
}

CycleReport Reconciler::Impl::RunCycle(bool cancellable) {
  {
    base::MutexLock l(&mu);
    while (cycle_running) cycle_done_cv.Wait(&mu);
    cycle_running = true;
  }
  CycleReport report = DoCycle(cancellable);
  {
    base::MutexLock l(&mu);
    cycle_running = false;
    if (!report.interrupted) last = report;
  }
  cycle_done_cv.SignalAll();
  return report;
}

void Reconciler::Impl::StoreError(const Status& status, CycleReport& report) {
  ++report.store_errors;
  metrics.errors.Increment();
  if (report.error.ok()) report.error = status;
}

CycleReport Reconciler::Impl::DoCycle(bool cancellable) {
  const base::MonoTime started = runtime.clock->Monotonic();
  CycleReport report;

  std::vector<ShadowInfo> shadows = store->List("");
  std::sort(shadows.begin(), shadows.end(),
            [](const ShadowInfo& a, const ShadowInfo& b) { return a.key < b.key; });
  std::vector<std::string> keys;
  keys.reserve(shadows.size());
  for (const auto& s : shadows) keys.push_back(s.key);
  report.shadows = shadows.size();

  // The listing is true of the moment its request was sent (or later).
  base::WallTime listed_at = runtime.clock->Now();
  ListWalkOptions walk;
  if (cancellable) walk.cancelled = [&] { return report.interrupted = Stopping(); };
  walk.before_request = [&] { listed_at = runtime.clock->Now(); };
  Status listed = WalkListing(
      *primary, keys, walk,
      [&](size_t i, const ObjectInfo* object) { Judge(shadows[i], object, listed_at, report); },
      &report.list_requests);
  metrics.list_requests.Increment(report.list_requests);
  if (report.interrupted) {
    report.error = listed;
    return report;  // shutting down: what is left waits for the next run
  }
  if (!listed.ok()) {
    report.error = listed;  // the listing error wins over a store error met before it
    metrics.errors.Increment();
  }

  // Local maintenance runs even when the primary is unreachable: TTLs and the cap must hold
  // during an outage, and none of it depends on what the primary says.
  auto maintain = [&](Result<shadow::ShadowStore::MaintenanceReport> r, const char* what) {
    if (r.ok()) {
      AddMaintenance(report.maintenance, *r);
    } else {
      metrics.errors.Increment();
      if (report.error.ok()) report.error = r.status().WithContext(what);
    }
  };
  maintain(store->ExpireAndEvict(), "expiring and evicting shadows");
  maintain(store->RemoveOrphans(), "removing orphans");
  maintain(store->Scrub(options.scrub_bytes_per_cycle), "scrubbing shadows");

  const base::WallTime now = runtime.clock->Now();
  base::WallTime oldest = now;
  for (const auto& s : store->List("")) oldest = std::min(oldest, s.last_verified);
  report.lag_seconds = std::chrono::duration<double>(now - oldest).count();
  report.duration =
      std::chrono::duration_cast<std::chrono::milliseconds>(runtime.clock->Monotonic() - started);

  metrics.cycles.Increment();
  metrics.lag.Set(report.lag_seconds);
  metrics.last_cycle.Set(std::chrono::duration<double>(now.time_since_epoch()).count());
  metrics.cycle_seconds.Observe(std::chrono::duration<double>(report.duration).count());
  return report;
}

void Reconciler::Impl::Judge(const ShadowInfo& seen, const ObjectInfo* listed, base::WallTime when,
                             CycleReport& report) {
  // The store may have replaced or dropped this shadow since the cycle's snapshot (a write that
  // committed after the listing was sent): judging it by this listing could drop a good shadow.
  std::optional<ShadowInfo> current = store->Find(seen.key);
  if (!current || current->etag != seen.etag) {
    ++report.skipped;
    metrics.skipped.Increment();
    return;
  }
  if (!listed) {
    Status st = store->ObserveDeleted(seen.key, when);
    if (!st.ok() && !st.IsNotFound()) return StoreError(st, report);
    ++report.deleted;
    metrics.deleted.Increment();
    return;
  }
  if (listed->etag == current->etag && listed->size != current->size) {
    // Same ETag, another size: not a version we can explain, so not one to keep serving.
    Status st = store->Drop(seen.key);
    if (!st.ok() && !st.IsNotFound()) return StoreError(st, report);
    ++report.changed;
    metrics.changed.Increment();
    return;
  }
  Result<bool> matched = store->Verify(seen.key, listed->etag, when);
  if (!matched.ok()) {
    if (!matched.status().IsNotFound()) StoreError(matched.status(), report);
    return;
  }
  if (*matched) {
    ++report.matched;
    metrics.match.Increment();
    return;
  }
  ++report.changed;
  metrics.changed.Increment();
  MaybeRematerialize(*current, *listed, when, report);
}

void Reconciler::Impl::MaybeRematerialize(const ShadowInfo& old, const ObjectInfo& listed,
                                          base::WallTime now, CycleReport& report) {
  if (!materializer) return;
  // Only whole shadows: which chunks of a partial one were wanted is the predictor's business.
  if (!old.complete()) return;
  bool expires = old.expires_at != base::WallTime{};
  if (expires && old.expires_at <= now) return;
  // A pinned key is one the user asked to keep, so its new version is fetched regardless.
  bool hot = old.pinned ||
             (scorer && scorer->ReuseProbability(old.key, now) >= options.rematerialize_threshold);
  if (!hot) return;
  shadow::MaterializeRequest request;
  request.key = old.key;
  request.expected_etag = listed.etag;
  request.fill.origin =
      old.origin == shadow::Origin::kManual ? shadow::Origin::kManual : shadow::Origin::kPrefetch;
  request.fill.version_id = listed.version_id;
  request.fill.pin = old.pinned;
  if (expires) {
    request.fill.ttl = std::chrono::duration_cast<std::chrono::seconds>(old.expires_at - now);
  }
  if (materializer->Submit(std::move(request))) {
    ++report.rematerialized;
    metrics.rematerialized.Increment();
  }
}

}  // namespace shadowfs::reconcile
