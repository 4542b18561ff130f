// Reconciler: keeps a ShadowStore honest against its primary. Each cycle lists the prefixes that
// hold shadows with ListObjectsV2 (one request per 1000 keys, never a HEAD per shadow), compares
// ETag and size, and tells the store what it saw: a match refreshes last_verified (confidence
// back to 1), a changed or deleted object drops the shadow, or hands it to the Materializer when
// the scorer says it is hot. Both are observations for the change-rate model. Then it expires
// TTLs, enforces the cap, removes orphans and scrubs a bounded number of bytes.
//
// Only an answer from the primary changes a shadow: a listing that fails mid-cycle (5xx,
// timeout, reset) ends the cycle with an error and the shadows it did not reach untouched; the
// next cycle starts over. One reconciler per store: Create takes an exclusive flock on
// STORE/reconcile.lock, so `shadowfs reconcile` and a mount's reconciler thread never both run.
//
// Not yet: extra checks right after predicted change times (DESIGN.md section 7). ShadowStore
// exposes no per-key change rate or predicted change time to schedule them by; every shadow is
// checked once per interval.
//
// Thread-safe: RunCycle may be called while the background thread runs (cycles serialize).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "blobstore/base/prefetch.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/materializer.h"
#include "blobstore/shadow/shadow_store.h"

namespace shadowfs::reconcile {

struct ReconcilerOptions {
  std::string store_dir;  // for the lock file
  std::chrono::seconds interval{60};
  uint64_t scrub_bytes_per_cycle = 64ull << 20;
  double rematerialize_threshold =
      0.5;  // ReuseProbability above which a changed shadow is refetched
};

struct CycleReport {
  uint64_t shadows = 0;  // shadows considered
  uint64_t list_requests = 0;
  uint64_t matched = 0;
  uint64_t changed = 0;
  uint64_t deleted = 0;
  uint64_t rematerialized = 0;
  // Shadows the listing did not judge because the store replaced or dropped them while the
  // cycle ran (a listing may predate a write that just committed).
  uint64_t skipped = 0;
  uint64_t store_errors = 0;  // Verify/ObserveDeleted/Drop failures; the cycle goes on
  shadow::ShadowStore::MaintenanceReport maintenance;
  std::chrono::milliseconds duration{0};
  // Not OK if the listing stopped early (the counts cover what it did) or, failing that, the
  // first store or maintenance error.
  base::Status error;
  double lag_seconds = 0;  // age of the oldest last_verified among shadows after the cycle
  // Ended early by Stop (the background thread's cycles only): the counts cover part of the
  // shadows, the local maintenance did not run, and last_report keeps the cycle before it.
  bool interrupted = false;
};

class Reconciler {
 public:
  // AlreadyExists (naming the holder's pid when known) if another reconciler holds the store.
  static base::Result<std::unique_ptr<Reconciler>> Create(
      blobstore::BlobStore* primary, shadow::ShadowStore* store,
      shadow::Materializer* materializer,  // may be null: changed shadows are only dropped
      base::ReuseScorer* scorer,           // may be null
      ReconcilerOptions options, base::Runtime runtime);
  ~Reconciler();  // stops the thread, releases the lock

  CycleReport RunCycle();
  // A named background thread running a cycle every interval until Stop (or destruction).
  void Start();
  // Asks the thread to stop without waiting for it: a running cycle ends at its next listing
  // request (interrupted), and no other starts. Stop asks and joins.
  void RequestStop();
  void Stop();
  CycleReport last_report() const;

  struct Impl;

 private:
  explicit Reconciler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::reconcile
