#include "blobstore/base/clock.h"

#include <thread>

namespace shadowfs::base {

void SystemClock::SleepFor(std::chrono::nanoseconds d) {
  if (d.count() > 0) std::this_thread::sleep_for(d);
}

ScaledClock::ScaledClock(Clock* base, double scale)
    : base_(base), scale_(scale), start_wall_(base->Now()), start_mono_(base->Monotonic()) {}

ScaledClock::ScaledClock(Clock* base, double scale, WallTime anchor_real, WallTime anchor_sim)
    : base_(base),
      scale_(scale),
      // The calendar at construction: the anchor, moved by the real time since (or until) it.
      start_wall_(anchor_sim +
                  std::chrono::duration_cast<WallTime::duration>(
                      std::chrono::duration<double, std::nano>(base->Now() - anchor_real) * scale)),
      start_mono_(base->Monotonic()) {}

WallTime ScaledClock::Now() const {
  std::chrono::duration<double, std::nano> elapsed = base_->Monotonic() - start_mono_;
  return start_wall_ + std::chrono::duration_cast<WallTime::duration>(elapsed * scale_);
}

FakeClock::FakeClock(WallTime start) : wall_(start), mono_(MonoTime(std::chrono::hours(1))) {}

WallTime FakeClock::Now() const {
  MutexLock lock(&mu_);
  return wall_;
}

MonoTime FakeClock::Monotonic() const {
  MutexLock lock(&mu_);
  return mono_;
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  MutexLock lock(&mu_);
  if (d.count() <= 0) return;
  wall_ += std::chrono::duration_cast<WallTime::duration>(d);
  mono_ += d;
}

void FakeClock::SleepFor(std::chrono::nanoseconds d) {
  Advance(d);
  MutexLock lock(&mu_);
  if (d.count() > 0) slept_ += d;
}

std::chrono::nanoseconds FakeClock::slept() const {
  MutexLock lock(&mu_);
  return slept_;
}

}  // namespace shadowfs::base
