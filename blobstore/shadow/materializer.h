// Materializer: builds or extends shadows from the primary. A request names a key, a byte range
// and the ETag it expects; the GET carries If-Match with it (the validation token), so a changed
// object is never stored under the old version: the request fails with Conflict and the stale
// shadow is dropped. Work runs on a bounded pool (max_concurrent), within a bandwidth cap (a
// token bucket over bytes fetched) and a cap on bytes in flight; requests beyond the queue bound
// are refused, never queued without limit. Implements PrefetchSink for the prediction engine.
// Committed writes do not come through here: the filesystem's Uploader (fs/uploader.h) Fills the
// new version's shadow straight from its staged file.
//
// Demand reads never wait for this class: they go to the primary directly. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "blobstore/base/prefetch.h"
#include "blobstore/base/runtime.h"
#include "blobstore/blob_store.h"
#include "blobstore/shadow/shadow_store.h"

namespace shadowfs::shadow {

struct MaterializerOptions {
  int max_concurrent = 4;
  size_t max_queued = 1024;
  uint64_t bandwidth_bytes_per_second = 0;  // 0 = unlimited
  uint64_t burst_bytes = 16ull << 20;
  uint64_t max_bytes_in_flight = 256ull << 20;
  // The key prefix of the filesystem on the primary ("" or "dir/"): shadow keys are primary keys.
};

struct MaterializeRequest {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;        // 0 = to the end
  std::string expected_etag;  // empty: take the current version (a HEAD first)
  FillOptions fill;
};

class Materializer final : public base::PrefetchSink, public base::FetchJoin {
 public:
  Materializer(blobstore::BlobStore* primary, ShadowStore* store, MaterializerOptions options,
               base::Runtime runtime);
  ~Materializer() override;  // stops taking work, finishes what runs, joins its threads

  // Fetches now, on the calling thread (still within the bandwidth cap). For `shadowfs shadow
  // create` and `warmup`.
  base::Status Materialize(const MaterializeRequest& request);
  // Queues; false when refused (queue full, shutting down, the range already held).
  bool Submit(MaterializeRequest request);
  bool Offer(base::PrefetchRequest request) override;  // Submit with origin kPrefetch
  // Told how every accepted Offer ended. Set once, before the first Offer; may be null.
  void SetPrefetchListener(base::PrefetchListener* listener);
  // Told the object's version (ETag, size, metadata; `key` set) from every GET that stored
  // bytes: a GET's answer is the primary's word like a HEAD's, so the filesystem can answer a
  // later lookup of a prefetched file without a request of its own. Called on the worker
  // threads with none of the Materializer's locks held. Set once, before the first request.
  using VersionObserver = std::function<void(const blobstore::ObjectInfo& version)>;
  void SetVersionObserver(VersionObserver observer);

  bool AwaitFetch(std::string_view key, std::chrono::nanoseconds max_wait) override;

  // Waits until everything queued so far has finished (tests, unmount).
  void Drain();

  struct Stats {
    uint64_t completed = 0;
    uint64_t failed = 0;
    uint64_t refused = 0;
    uint64_t conflicts = 0;  // the object had changed: the shadow was dropped
    uint64_t bytes_fetched = 0;
    uint64_t awaited = 0;  // AwaitFetch calls that found a GET of their key under way
  };
  Stats stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowfs::shadow
