// Planner: decides which calibrated candidates become prefetches (DESIGN.md section 6).
//
// A candidate with probability p and a byte cost of B bytes is prefetched when
//   - p >= the threshold, which adapts to hold the target byte precision: raised quickly when
//     the precision measured over a recent window of outcomes falls below the target, lowered
//     slowly when above, always within [kMinThreshold, kMaxThreshold];
//   - the expected saving outweighs the expected waste, both in seconds of transfer:
//     p * (request_latency + B / reference_bandwidth) >= (1 - p) * B / reference_bandwidth;
//   - the budgets allow it: bytes in flight, the bandwidth token bucket, and the share of the store
//     that prefetched-but-unread bytes may use;
//   - backoff under store pressure, the larger of two: the store's fill level (above 0.8 of its
//     capacity the share shrinks to nothing at full and the threshold rises towards 1), and the
//     store refusing prefetches for space (a prefetch may only evict shadows worth less than
//     itself: blobstore/shadow/shadow_store.h; each refusal raises the threshold towards 1, each
//     stored prefetch lowers it again, and it halves every kPressureHalfLife without refusals).
//     The fill level stops prefetching in a full store, a cache's normal state, but a run with a
//     store half the size of an ML data set took 274 s without it against 195 s with prediction
//     off (tests/bench/README.md: runs of that case vary widely; an open problem);
//   - the range was not requested in the last rerequest_after (de-duplication; the sink refuses
//     ranges the store holds in full, so a range evicted or dropped may be prefetched again).
// Admit reserves the budgets; the engine gives them back with Refused (the sink said no) or Done.
// It never blocks: demand reads go first, and the sink refuses when its own queue is full.
//
// Not thread-safe: owned by the engine, called under its mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "blobstore/base/clock.h"
#include "predict/keyed_pool.h"
#include "predict/types.h"

namespace shadowfs::predict {

struct PlannerOptions {
  std::chrono::seconds horizon{600};
  // A range is not asked for again this soon after it was (a sink refuses what the store still
  // holds in full; after that, a range evicted or dropped may be prefetched again).
  std::chrono::seconds rerequest_after{30};
  double target_precision = 0.8;
  uint64_t max_bytes_in_flight = 256ull << 20;
  uint64_t bandwidth_bytes_per_second = 0;  // 0: unlimited
  double store_share = 0.5;
  uint64_t max_request_bytes = 64ull << 20;
  // What a demand miss costs (one request to the primary) and how fast bytes arrive, for the
  // saving-versus-waste rule.
  std::chrono::milliseconds request_latency{20};
  double reference_bandwidth = 100e6;  // bytes per second
  // Assumed size of an object whose size is unknown (for the budgets).
  uint64_t unknown_size_bytes = 1ull << 20;
};

// What the store looks like now (zero capacity: unknown, no store budget or fill backoff).
struct StoreState {
  uint64_t used_bytes = 0;
  uint64_t capacity_bytes = 0;
};

class Planner {
 public:
  explicit Planner(const PlannerOptions& options);

  static constexpr double kMinThreshold = 0.2;
  static constexpr double kMaxThreshold = 0.99;
  static constexpr int kSweepSeconds = 30;
  static constexpr std::chrono::seconds kPressureHalfLife{30};

  struct Decision {
    uint64_t offset = 0;
    uint64_t length = 0;  // resolved: never 0 unless the size is unknown
    uint64_t cost = 0;    // the bytes reserved against the budgets
  };
  // Decides on one candidate (length 0: to the end of an object of `object_size`, 0 unknown) and,
  // if yes, reserves its budgets and marks the range as requested. `unread_prefetched` is the
  // bytes prefetched and not yet read (from the accounting). A range asked for ahead of its
  // expected read (`expected_read` later than `now`: a nightly job's input) counts as requested
  // until a horizon after that read.
  std::optional<Decision> Admit(KeyId key, uint64_t offset, uint64_t length, uint64_t object_size,
                                double probability, base::WallTime now, const StoreState& store,
                                uint64_t unread_prefetched, base::WallTime expected_read = {});
  // True if the range is in flight or was prefetched within the horizon (cheap: call it before
  // scoring a candidate).
  bool Requested(KeyId key, uint64_t offset, uint64_t length, base::WallTime now) const;
  // True if the range is in flight or was requested within rerequest_after: Admit refuses it.
  bool RequestedRecently(KeyId key, uint64_t offset, uint64_t length, base::WallTime now) const;
  // The sink refused an admitted request: give back its budgets and forget the range.
  void Refused(KeyId key, const Decision& decision);
  // An admitted request finished (fetched or not): its bytes are no longer in flight. A failed
  // one is forgotten so that it may be asked for again; `no_space`: the store refused it for
  // lack of space (pressure).
  void Done(KeyId key, const Decision& decision, bool ok, bool no_space = false);

  // One prefetch outcome, for the precision window: `useful` bytes were read in time, `wasted`
  // were not.
  void RecordOutcome(uint64_t useful, uint64_t wasted);
  // Moves the threshold towards the target precision (about once a second).
  void Adapt();
  // The threshold after store-pressure backoff.
  double EffectiveThreshold(const StoreState& store) const;
  double pressure() const { return pressure_; }  // from refusals: 0 none, 1 every prefetch

  double threshold() const { return threshold_; }
  void set_threshold(double t);
  double window_precision() const;  // -1 with too few outcomes
  uint64_t bytes_in_flight() const { return in_flight_; }
  size_t ranges_held() const { return requested_.size(); }

  // Drops ranges whose horizon passed (call about once a second; a range goes at most
  // kSweepSeconds after its horizon) and lets the store pressure decay.
  void Expire(base::WallTime now);
  void Forget(const std::vector<KeyId>& ids);
  size_t MemoryBytes() const;

 private:
  static double Backoff(const StoreState& store);  // by fill level: 1 none, 0 full
  // A requested range: 24 bytes. Its expiry is in Unix seconds (rounded up: the horizon is
  // minutes); offsets are below 2^63 (off_t), so the top bit of `begin` marks a range in flight
  // (until Done: never requested twice at once, however long it takes).
  struct Range {
    static constexpr uint64_t kInFlight = 1ull << 63;
    uint64_t begin_and_flag = 0;
    uint64_t end = 0;  // exclusive; UINT64_MAX: to the end
    uint32_t expires_s = 0;
    uint32_t next = 0;  // owned by KeyedPool
    uint64_t begin() const { return begin_and_flag & ~kInFlight; }
    bool in_flight() const { return (begin_and_flag & kInFlight) != 0; }
  };
  // Calls fn(range) for each of `key`'s ranges that [offset, offset + length) falls within.
  template <typename Fn>
  bool AnyCovering(KeyId key, uint64_t offset, uint64_t length, Fn&& fn) const;
  // Removes `key`'s ranges that match `d` exactly.
  void Remove(KeyId key, const Decision& d);

  const PlannerOptions options_;
  double threshold_;
  uint64_t in_flight_ = 0;
  double tokens_ = 0;  // bandwidth token bucket, in bytes
  base::WallTime tokens_at_{};
  // Decayed byte counts of recent outcomes (the precision window).
  double window_useful_ = 0;
  double window_wasted_ = 0;
  double window_count_ = 0;
  double pressure_ = 0;
  base::WallTime pressure_at_{};  // when Expire last decayed it
  KeyedPool<Range> requested_;
  // Expire sweeps the keys in slices, round robin, so that each is looked at about every
  // kSweepSeconds (a range's expiry is checked wherever it is used, so a late sweep only holds
  // memory a little longer). No per-range queue: at 8 bytes per range it cost as much as the
  // ranges' own bookkeeping.
  KeyId sweep_next_ = 0;
  base::WallTime last_sweep_{};
};

}  // namespace shadowfs::predict
