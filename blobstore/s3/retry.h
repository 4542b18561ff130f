// Backoff: when and how long to wait between attempts of an S3 request. Exponential backoff with
// "full jitter" (a uniform delay in [0, min(max_delay, base_delay * 2^retry)]), which spreads
// the retries of many clients hit by the same outage instead of synchronizing them. Sleeps
// through the injected Clock, so tests with FakeClock run instantly. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string_view>

#include "blobstore/base/clock.h"
#include "blobstore/base/mutex.h"
#include "blobstore/s3/s3_blob_store.h"

namespace shadowfs::s3 {

class Backoff {
 public:
  Backoff(const RetryPolicy& policy, base::Clock* clock, uint64_t seed);

  int max_attempts() const { return max_attempts_; }
  // The delay before retry number `retry` (1 for the first retry).
  std::chrono::nanoseconds Delay(int retry) EXCLUDES(mu_);
  void Sleep(int retry) { clock_->SleepFor(Delay(retry)); }

 private:
  const int max_attempts_;
  const std::chrono::nanoseconds base_delay_;
  const std::chrono::nanoseconds max_delay_;
  base::Clock* const clock_;
  base::Mutex mu_;  // leaf lock
  std::mt19937_64 rng_ GUARDED_BY(mu_);
};

// Whether an HTTP answer is worth retrying: 5xx except 501 Not Implemented, 408, 429, and the S3
// error codes that mean "try again" whatever their status (RequestTimeout is a 400, SlowDown a
// 503, InternalError can come inside a 200 for CompleteMultipartUpload and CopyObject).
bool IsRetryableHttp(long status, std::string_view s3_error_code);

}  // namespace shadowfs::s3
