// Clock: the source of time for everything that expires, backs off or decays, so that tests can
// drive time with FakeClock. Implementations are thread-safe.
#pragma once

#include <chrono>

#include "blobstore/base/mutex.h"

namespace shadowfs::base {

using WallTime = std::chrono::system_clock::time_point;
using MonoTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Calendar time: valid-from, expiry, object modification times.
  virtual WallTime Now() const = 0;
  // Never jumps: deadlines, timeouts, rates.
  virtual MonoTime Monotonic() const = 0;
  virtual void SleepFor(std::chrono::nanoseconds d) = 0;
};

class SystemClock final : public Clock {
 public:
  WallTime Now() const override { return std::chrono::system_clock::now(); }
  MonoTime Monotonic() const override { return std::chrono::steady_clock::now(); }
  void SleepFor(std::chrono::nanoseconds d) override;
};

// Time moves only when told to. SleepFor advances the clock by the requested amount at once, so
// code that backs off runs instantly and deterministically in tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime start = WallTime(std::chrono::seconds(1'700'000'000)));

  WallTime Now() const override;
  MonoTime Monotonic() const override;
  void SleepFor(std::chrono::nanoseconds d) override;

  void Advance(std::chrono::nanoseconds d);
  // Total time slept through SleepFor, for asserting on backoff.
  std::chrono::nanoseconds slept() const;

 private:
  mutable Mutex mu_;
  WallTime wall_ GUARDED_BY(mu_);
  MonoTime mono_ GUARDED_BY(mu_);
  std::chrono::nanoseconds slept_ GUARDED_BY(mu_){0};
};

// Calendar time that runs `scale` times faster than `base`'s from the moment it is constructed:
// Now() = start + scale * (monotonic time elapsed since construction). Monotonic() and SleepFor
// are `base`'s, unchanged, so timeouts and backoff keep their real durations. It lets a benchmark
// simulate days of a periodic workload (a nightly job) in minutes (`shadowfs mount --time-scale`).
// With an anchor, the calendar reads `anchor_sim` at the real time `anchor_real`, so that another
// process (a benchmark's workload) knows exactly when a simulated time comes, and a later mount
// can continue an earlier one's calendar (`--time-anchor`). Thread-safe if `base` is; `base`
// must outlive it.
class ScaledClock final : public Clock {
 public:
  ScaledClock(Clock* base, double scale);
  ScaledClock(Clock* base, double scale, WallTime anchor_real, WallTime anchor_sim);

  WallTime Now() const override;
  MonoTime Monotonic() const override { return base_->Monotonic(); }
  void SleepFor(std::chrono::nanoseconds d) override { base_->SleepFor(d); }

  double scale() const { return scale_; }

 private:
  Clock* const base_;
  const double scale_;
  const WallTime start_wall_;
  const MonoTime start_mono_;
};

// Seconds since the Unix epoch, for metadata headers and catalogs.
inline int64_t ToUnixSeconds(WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}
inline WallTime FromUnixSeconds(int64_t s) { return WallTime(std::chrono::seconds(s)); }

}  // namespace shadowfs::base
