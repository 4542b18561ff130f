#include "blobstore/base/runtime.h"

namespace shadowfs::base {

OwnedRuntime::OwnedRuntime(Time time, LogLevel level)
    : logger_(std::make_unique<StderrLogger>(level)) {
  if (time == Time::kFake) {
    auto fake = std::make_unique<FakeClock>();
    fake_ = fake.get();
    clock_ = std::move(fake);
  } else {
    clock_ = std::make_unique<SystemClock>();
  }
}

}  // namespace shadowfs::base
