// Accountant: the engine's own bookkeeping of what its prefetches were worth (issue 5,
// "Accounting"), overall and per expert, and its export to the metrics registry.
//
// Definitions (the counters of Accounting/ExpertAccounting in predict/engine.h):
//   a prefetch is attributed to the expert whose score weighed most in its probability;
//   useful bytes: prefetched bytes read within the horizon after the request (counted as they are
//     read, each prefetched byte at most once);
//   wasted bytes: prefetched bytes the horizon passed without a read (counted at the horizon);
//   precision = useful / (useful + wasted) bytes;
//   a prefetch is useful from its first read; timely if it had finished before that read;
//   coverage = demand reads served from a shadow a prefetch made (within the horizon) / demand
//     reads.
// A prefetch that failed counts as requested but is forgotten (neither useful nor wasted).
//
// Not thread-safe: owned by the engine, called under its mutex.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blobstore/base/clock.h"
#include "blobstore/base/metrics.h"
#include "predict/engine.h"
#include "predict/keyed_pool.h"
#include "predict/slot_heap.h"
#include "predict/types.h"

namespace shadowfs::predict {

class Accountant {
 public:
  Accountant(std::vector<std::string> expert_names, std::chrono::seconds horizon);

  // A prefetch about to be offered to the sink (length 0: unknown until done), proposed by
  // expert number `expert`. Recorded before the offer so that a sink answering from inside Offer
  // finds it; Refused undoes it.
  // `due`: when the read is expected, if later than now (a proposal ahead of a nightly job):
  // the horizon and the outcome's report count from then. `report_after`: the outcome is
  // reported no sooner than this after `due` (the prediction's label window), even if Expire is
  // given a shorter one.
  void Requested(KeyId key, uint64_t offset, uint64_t length, size_t expert, base::WallTime now,
                 base::WallTime due = {}, std::chrono::nanoseconds report_after = {});
  void Refused(KeyId key, uint64_t offset, uint64_t length);
  // The sink finished a prefetch; `fetched` is the bytes it stored (0 on failure), from
  // `stored_offset` on (at or before `offset`: a sink that stores whole chunks rounds the range
  // out to them). What it stored past the range counts as prefetched too: useful if read, wasted
  // if not, so that a 64 KiB footer fetched as a 1 MiB chunk is accounted as 1 MiB.
  void Done(KeyId key, uint64_t offset, bool ok, uint64_t fetched, base::WallTime finished,
            uint64_t stored_offset = ~uint64_t{0});

  // Called once per prefetch with its outcome, for the planner's precision window: when it has
  // been read whole, or else `report_after` (Expire's argument) after the request with the bytes
  // unread so far as wasted. That can be earlier than the horizon, so that the planner's
  // threshold does not wait ten minutes to see waste; the counters still follow the horizon.
  using OutcomeFn = std::function<void(uint64_t useful, uint64_t wasted)>;
  // A demand read; returns true if it was covered: served from a shadow (`from_shadow`) that a
  // prefetch made, one still open here or (`prefetched_recently`, the planner knows) one already
  // read whole within the horizon.
  bool Read(KeyId key, uint64_t offset, uint64_t length, base::WallTime time, bool from_shadow,
            bool prefetched_recently, const OutcomeFn& outcome);
  // Prefetches whose horizon passed become wasted (their unread bytes); those requested more than
  // `report_after` ago are reported to `outcome`.
  void Expire(base::WallTime now, std::chrono::nanoseconds report_after, const OutcomeFn& outcome);

  void Forget(const std::vector<KeyId>& ids);
  // Bytes prefetched (or in flight) and not yet read, for the planner's store budget.
  uint64_t unread_bytes() const { return unread_bytes_; }
  size_t MemoryBytes() const;

  // The counters (the engine fills in the learner's and planner's fields).
  Accounting Snapshot() const;
  // Adds what changed since the last export to the registry's counters.
  void ExportMetrics(base::MetricsRegistry* metrics);

 private:
  // An open prefetch: 56 bytes (a busy engine keeps tens of thousands). Its times are kept as
  // distances from the second it was requested in.
  struct Record {
    uint64_t offset = 0;
    uint64_t length = 0;  // 0: unknown until done
    uint64_t read_bytes = 0;
    uint32_t second = 0;  // the request's, since the epoch (until 2106)
    uint32_t due_ms = 0;  // the expected read (the request, if that is later)
    // When the sink finished it, 0: not yet (clamped to about 71 minutes after the request).
    uint32_t finished_us = 0;
    uint32_t report_after_ms = 0;  // the least wait after `due` for the outcome's report
    uint32_t look_ms = 0;          // when Expire next looks at it (its place in `due_`)
    KeyId key = kNoKey;
    uint32_t next = 0;  // owned by KeyedPool
    uint8_t expert = 0;
    bool was_read = false;
    bool reported = false;  // the outcome went to OutcomeFn

    base::WallTime base() const { return base::WallTime(std::chrono::seconds(second)); }
    base::WallTime due() const { return base() + std::chrono::milliseconds(due_ms); }
    base::WallTime look() const { return base() + std::chrono::milliseconds(look_ms); }
    // When the outcome is reported: `at_least` (or the record's own wait, if longer) after due.
    base::WallTime report_at(std::chrono::nanoseconds at_least) const {
      return due() + std::max(std::chrono::duration_cast<base::WallTime::duration>(at_least),
                              base::WallTime::duration(std::chrono::milliseconds(report_after_ms)));
    }
    bool finished() const { return finished_us != 0; }
    bool finished_by(base::WallTime t) const {
      return finished() && base() + std::chrono::microseconds(finished_us) <= t;
    }
  };
  static_assert(sizeof(Record) <= 56, "an open prefetch's record grew");
  // The order in which Expire looks at records; ties by slot.
  auto Sooner() const {
    return [this](uint32_t a, uint32_t b) {
      const base::WallTime x = open_[a].look(), y = open_[b].look();
      return x != y ? x < y : a < b;
    };
  }
  // Closes a record: its outcome goes to the planner and the wasted counters.
  void Close(Record& r, bool expired, const OutcomeFn& outcome);
  // Takes the record in `slot` out of the pool and the look queue.
  void Drop(uint32_t slot);
  // The slot of `key`'s oldest open record at `offset` not yet finished (and, unless `length` is
  // nullptr, of that length), or KeyedPool::kNone.
  uint32_t FindUnfinished(KeyId key, uint64_t offset, const uint64_t* length) const;
  ExpertAccounting& For(size_t expert) { return experts_[expert]; }

  const std::chrono::seconds horizon_;
  std::vector<std::string> names_;
  ExpertAccounting overall_;
  std::vector<ExpertAccounting> experts_;
  uint64_t demand_reads_ = 0;
  uint64_t demand_bytes_ = 0;
  uint64_t covered_reads_ = 0;
  uint64_t covered_bytes_ = 0;
  uint64_t unread_bytes_ = 0;
  KeyedPool<Record> open_;  // prefetches within their horizon
  SlotHeap due_;            // every open prefetch, by when Expire next looks at it

  // What ExportMetrics sent last (counters only go up: it adds the differences).
  struct Exported {
    std::vector<ExpertAccounting> experts;
    uint64_t demand_reads = 0;
    uint64_t covered_reads = 0;
  } exported_;
};

}  // namespace shadowfs::predict
