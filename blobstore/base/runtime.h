// Runtime: the process-wide services a component borrows (time, logging, metrics), handed down
// from the composition root in cli/ instead of living in globals. The pointees outlive every
// component that holds a Runtime; all three are thread-safe.
#pragma once

#include <memory>

#include "blobstore/base/clock.h"
#include "blobstore/base/logging.h"
#include "blobstore/base/metrics.h"

namespace shadowfs::base {

struct Runtime {
  Clock* clock;
  Logger* logger;
  MetricsRegistry* metrics;
};

// Owns a FakeClock (or SystemClock), a logger and a registry, for tests and small tools.
class OwnedRuntime {
 public:
  enum class Time { kFake, kSystem };
  explicit OwnedRuntime(Time time = Time::kFake, LogLevel level = LogLevel::kWarning);
  Runtime runtime() { return {clock_.get(), logger_.get(), &metrics_}; }
  FakeClock* fake_clock() { return fake_; }  // null with Time::kSystem
  MetricsRegistry& metrics() { return metrics_; }

 private:
  std::unique_ptr<Clock> clock_;
  FakeClock* fake_ = nullptr;
  std::unique_ptr<Logger> logger_;
  MetricsRegistry metrics_;
};

}  // namespace shadowfs::base
