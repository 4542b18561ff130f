// The vocabulary shared by the prediction engine (predict/) and the shadow store, which may not
// depend on each other: predict/ emits PrefetchRequests into a PrefetchSink (implemented by the
// shadow Materializer) and answers ReuseScorer questions (asked by the store's eviction); the
// filesystem joins the Materializer's fetches through FetchJoin.
// Implementations of both interfaces are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "blobstore/base/clock.h"

namespace shadowfs::base {

struct PrefetchRequest {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;        // 0: to the end of the object
  std::string expected_etag;  // the validation token (If-Match); empty: whatever is current
  double probability = 0;     // calibrated probability that the range is read within the horizon
                              // (a sink with a bounded store weighs it against what it would evict)
  WallTime expected_read{};   // when the read is predicted, for timeliness accounting
  std::string expert;         // which expert proposed it, for per-expert accounting
};

class PrefetchSink {
 public:
  virtual ~PrefetchSink() = default;
  // Queues the request; false if it was refused (budgets full, already present, shutting down).
  // Never blocks on I/O: called from the prediction engine's thread.
  virtual bool Offer(PrefetchRequest request) = 0;
};

// How a prefetch that a sink accepted ended.
struct PrefetchResult {
  std::string key;
  uint64_t offset = 0;
  uint64_t length = 0;  // bytes fetched and stored (0 on failure)
  bool ok = false;
  WallTime finished{};
  bool no_space = false;  // refused by the store: not worth the space it would take
  // Where the stored bytes begin, when not at `offset`: a sink that stores whole chunks fetches
  // from the chunk the range starts in (kAtOffset: at `offset`).
  static constexpr uint64_t kAtOffset = ~uint64_t{0};
  uint64_t stored_offset = kAtOffset;
};

class PrefetchListener {
 public:
  virtual ~PrefetchListener() = default;
  // Called by the sink's worker threads, with none of the sink's locks held.
  virtual void OnPrefetchDone(const PrefetchResult& result) = 0;
};

// Lets a reader that needs an object a fetch is already bringing in wait for that fetch instead
// of asking the primary itself: the fetch's answer arrives sooner than a request made now.
// Implemented by the shadow Materializer; thread-safe.
class FetchJoin {
 public:
  virtual ~FetchJoin() = default;
  // If a GET of `key` is under way, waits until its first answer is stored and its version told
  // (the Materializer's VersionObserver) or `max_wait` passed, and returns whether it was.
  // False at once when no GET of `key` is under way (a queued request does not count).
  virtual bool AwaitFetch(std::string_view key, std::chrono::nanoseconds max_wait) = 0;
};

class ReuseScorer {
 public:
  virtual ~ReuseScorer() = default;
  // Probability in [0, 1] that `key` is read again within the horizon.
  virtual double ReuseProbability(std::string_view key, WallTime now) = 0;
};

}  // namespace shadowfs::base
